-- An index on deleted_at made SQLite scan every live customer for
-- "deleted_at IS NULL"; only the recycle bin needs one.
DROP INDEX customers_deleted;
CREATE INDEX customers_deleted ON customers(deleted_at) WHERE deleted_at IS NOT NULL;

-- The search index: bigrams of names, company and contact names, and a
-- name's first character (see kehu_domain::search).
CREATE TABLE customer_terms (
    term TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (term, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_terms_customer ON customer_terms(customer_id);
CREATE INDEX contacts_mobile ON contacts(mobile);
-- Imported rows with neither external id, mobile nor e-mail match by name.
CREATE INDEX customers_name ON customers(name);
-- List pages sorted by name or by last change read these in order instead
-- of sorting every customer.
DROP INDEX customers_pinyin;
CREATE INDEX customers_pinyin ON customers(name_pinyin, id);
CREATE INDEX customers_updated ON customers(updated_at, id);

-- Server-wide state kept in the database.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Customers written before the index existed are indexed at the next start.
INSERT INTO settings (key, value) VALUES ('search_index', 'rebuild');
