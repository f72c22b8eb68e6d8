-- A list filtered by a tag reads the tag's customers in the list's order
-- (newest, last changed or by name) from these indexes and stops after a
-- page, however many customers lack the tag. Each link holds copies of its
-- customer's sort keys; the triggers keep them equal to the customer's.
ALTER TABLE customer_tags
    ADD COLUMN created_at BIGINT,
    ADD COLUMN updated_at BIGINT,
    ADD COLUMN name_pinyin TEXT;
UPDATE customer_tags ct
SET created_at = c.created_at, updated_at = c.updated_at, name_pinyin = c.name_pinyin
FROM customers c WHERE c.id = ct.customer_id;
ALTER TABLE customer_tags
    ALTER COLUMN created_at SET NOT NULL,
    ALTER COLUMN updated_at SET NOT NULL,
    ALTER COLUMN name_pinyin SET NOT NULL;
DROP INDEX customer_tags_tag;
CREATE INDEX customer_tags_created ON customer_tags(tag_id, created_at, customer_id);
CREATE INDEX customer_tags_updated ON customer_tags(tag_id, updated_at, customer_id);
CREATE INDEX customer_tags_name ON customer_tags(tag_id, name_pinyin, customer_id);

CREATE FUNCTION customers_tag_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customer_tags
    SET created_at = NEW.created_at, updated_at = NEW.updated_at, name_pinyin = NEW.name_pinyin
    WHERE customer_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER customers_tag_keys AFTER UPDATE OF created_at, updated_at, name_pinyin ON customers
FOR EACH ROW
WHEN (NEW.created_at IS DISTINCT FROM OLD.created_at
    OR NEW.updated_at IS DISTINCT FROM OLD.updated_at
    OR NEW.name_pinyin IS DISTINCT FROM OLD.name_pinyin)
EXECUTE FUNCTION customers_tag_keys();

-- A merge moves the merged customer's tags to the survivor.
CREATE FUNCTION customer_tags_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.created_at, c.updated_at, c.name_pinyin
    INTO NEW.created_at, NEW.updated_at, NEW.name_pinyin
    FROM customers c WHERE c.id = NEW.customer_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER customer_tags_moved BEFORE UPDATE OF customer_id ON customer_tags
FOR EACH ROW
WHEN (NEW.customer_id IS DISTINCT FROM OLD.customer_id)
EXECUTE FUNCTION customer_tags_moved();
