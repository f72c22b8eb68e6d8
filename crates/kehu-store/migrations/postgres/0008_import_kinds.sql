-- Files of contacts and interactions are imported too: a column mapping is
-- saved per kind of file and source.
ALTER TABLE import_mappings ADD COLUMN kind TEXT NOT NULL DEFAULT 'customers';
ALTER TABLE import_mappings DROP CONSTRAINT import_mappings_pkey;
ALTER TABLE import_mappings ADD PRIMARY KEY (kind, source);
ALTER TABLE import_mappings ALTER COLUMN kind DROP DEFAULT;
