"""From files, pages and feeds to stored articles: reading, cleaning, sentence splitting and ingest."""
