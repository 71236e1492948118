-- Run once by the image's entrypoint, as the superuser, when the database volume is new: newsbot's
-- tables need pgvector's type (docs/deploy.md).
CREATE EXTENSION IF NOT EXISTS vector;
