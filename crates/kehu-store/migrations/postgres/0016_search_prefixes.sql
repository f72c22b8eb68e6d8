-- The first letters of a name's pinyin and initials and of an e-mail
-- address became search terms (kehu_domain::search): the index is built
-- again at the next start.
INSERT INTO settings (key, value) VALUES ('search_index', 'rebuild')
    ON CONFLICT (key) DO UPDATE SET value = 'rebuild';
-- A search's exact lookups (a full name, initials) walk these indexes
-- newest first: equal values in id order.
DROP INDEX customers_initials;
CREATE INDEX customers_initials ON customers(name_initials, id, deleted_at, owner_id, team_id);
DROP INDEX customers_name;
CREATE INDEX customers_name ON customers(name, id);
