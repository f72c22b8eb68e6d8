-- Imports from the web UI and the API run as background jobs: a job keeps
-- who started it, the uploaded file (relative to the data directory), the
-- source it came from, whose the new customers become, the column mapping,
-- its status and how far it has got. Column mappings are saved per source.
ALTER TABLE import_jobs ADD COLUMN actor_id TEXT;
ALTER TABLE import_jobs ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE import_jobs ADD COLUMN status TEXT NOT NULL DEFAULT 'running';
ALTER TABLE import_jobs ADD COLUMN error TEXT;
ALTER TABLE import_jobs ADD COLUMN owner_id TEXT;
ALTER TABLE import_jobs ADD COLUMN file_path TEXT;
ALTER TABLE import_jobs ADD COLUMN mapping TEXT;
ALTER TABLE import_jobs ADD COLUMN rows_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN bytes_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN bytes_total INTEGER;
ALTER TABLE import_jobs ADD COLUMN progress_at INTEGER;
-- Earlier runs: finished, or cut short.
UPDATE import_jobs SET status = CASE WHEN finished_at IS NULL THEN 'interrupted' ELSE 'done' END;
CREATE INDEX import_jobs_started ON import_jobs(started_at);
CREATE INDEX import_jobs_status ON import_jobs(status);

CREATE TABLE import_mappings (
    source TEXT PRIMARY KEY,
    mapping TEXT NOT NULL,
    updated_by TEXT,
    updated_at INTEGER NOT NULL
);
