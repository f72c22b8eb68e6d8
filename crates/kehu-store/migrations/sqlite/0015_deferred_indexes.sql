-- A large import into SQLite builds most customer indexes after its rows
-- are written (kehu_store::deferred): the indexes it dropped, to be built
-- again, and the search terms of the customers it created, to be sorted
-- into customer_terms at the end. Both stay empty on PostgreSQL.
CREATE TABLE deferred_indexes (
    name TEXT PRIMARY KEY,
    sql TEXT NOT NULL
);
-- Keyed by customer (new customers' ids grow), so staging appends.
CREATE TABLE customer_terms_staged (
    customer_id TEXT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (customer_id, term)
) WITHOUT ROWID;
