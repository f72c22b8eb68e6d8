-- A list filtered by a tag reads the tag's customers in the list's order
-- (newest, last changed or by name) from these indexes and stops after a
-- page, however many customers lack the tag. Each link holds copies of its
-- customer's sort keys; the triggers keep them equal to the customer's.
CREATE TABLE customer_tags_keyed (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    name_pinyin TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag_id)
) WITHOUT ROWID;
INSERT INTO customer_tags_keyed (customer_id, tag_id, created_at, updated_at, name_pinyin)
    SELECT ct.customer_id, ct.tag_id, c.created_at, c.updated_at, c.name_pinyin
    FROM customer_tags ct JOIN customers c ON c.id = ct.customer_id;
DROP TABLE customer_tags;
ALTER TABLE customer_tags_keyed RENAME TO customer_tags;
CREATE INDEX customer_tags_created ON customer_tags(tag_id, created_at, customer_id);
CREATE INDEX customer_tags_updated ON customer_tags(tag_id, updated_at, customer_id);
CREATE INDEX customer_tags_name ON customer_tags(tag_id, name_pinyin, customer_id);

CREATE TRIGGER customers_tag_keys AFTER UPDATE OF created_at, updated_at, name_pinyin ON customers
WHEN NEW.created_at IS NOT OLD.created_at
    OR NEW.updated_at IS NOT OLD.updated_at
    OR NEW.name_pinyin IS NOT OLD.name_pinyin
BEGIN
    UPDATE customer_tags
    SET created_at = NEW.created_at, updated_at = NEW.updated_at, name_pinyin = NEW.name_pinyin
    WHERE customer_id = NEW.id;
END;

-- A merge moves the merged customer's tags to the survivor.
CREATE TRIGGER customer_tags_moved AFTER UPDATE OF customer_id ON customer_tags
WHEN NEW.customer_id IS NOT OLD.customer_id
BEGIN
    UPDATE customer_tags
    SET (created_at, updated_at, name_pinyin) =
        (SELECT created_at, updated_at, name_pinyin FROM customers WHERE id = NEW.customer_id)
    WHERE customer_id = NEW.customer_id AND tag_id = NEW.tag_id;
END;
