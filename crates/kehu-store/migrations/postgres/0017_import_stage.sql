-- A large import's rows are in and its deferred indexes are being built.
ALTER TABLE import_jobs ADD COLUMN building_indexes BOOLEAN NOT NULL DEFAULT FALSE;
