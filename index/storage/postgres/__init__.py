"""The store on PostgreSQL (`store.PostgresStore`, with psycopg 3 and its pool): the same `NewsStore` as
SQLite's, over the same tables (`schema`), running the engine's SQLite-flavoured statements through
`dialect`. Imported only when NEWSBOT_DATABASE_URL is set: psycopg is the ``postgres`` extra."""
