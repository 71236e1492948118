"""Where the news is kept: the SQLite store, the FAISS passage index, the embedder that fills it, and
the locks between processes sharing a data dir."""
