-- Export of customer lists: owners and admins always may; anyone else when
-- an admin grants it.
ALTER TABLE users ADD COLUMN can_export INTEGER NOT NULL DEFAULT 0;
