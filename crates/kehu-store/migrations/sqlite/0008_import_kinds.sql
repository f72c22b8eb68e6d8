-- Files of contacts and interactions are imported too: a column mapping is
-- saved per kind of file and source.
CREATE TABLE import_mappings_by_kind (
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    mapping TEXT NOT NULL,
    updated_by TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, source)
);
INSERT INTO import_mappings_by_kind (kind, source, mapping, updated_by, updated_at)
    SELECT 'customers', source, mapping, updated_by, updated_at FROM import_mappings;
DROP TABLE import_mappings;
ALTER TABLE import_mappings_by_kind RENAME TO import_mappings;
