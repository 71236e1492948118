"""Where the news is kept: the SQLite store (`store`, reached through the `interface` a second backend
implements), its tables as numbered migrations (`schema`), the FAISS passage index, the embedder that
fills it, and the locks between processes sharing a data dir."""
