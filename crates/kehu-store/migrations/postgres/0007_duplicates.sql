-- Duplicate customers. A customer merged into another keeps its row (its
-- old id still resolves), hidden like a deleted one (deleted_at set) and
-- marked with the survivor; it goes when the survivor is purged.
ALTER TABLE customers ADD COLUMN merged_into TEXT REFERENCES customers(id) ON DELETE CASCADE;
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into IS NOT NULL;

-- The review list groups live customers by each duplicate key; these
-- partial indexes hold the key and the scope columns, so grouping reads
-- the index alone.
CREATE INDEX customers_dup_mobile ON customers(mobile, owner_id, team_id)
    WHERE deleted_at IS NULL AND mobile IS NOT NULL;
CREATE INDEX customers_dup_email ON customers(email, owner_id, team_id)
    WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE INDEX customers_dup_person ON customers(name, company, owner_id, team_id)
    WHERE deleted_at IS NULL AND kind = 'person' AND company IS NOT NULL;
CREATE INDEX customers_dup_org ON customers(name, owner_id, team_id)
    WHERE deleted_at IS NULL AND kind = 'organization';

-- Pairs a reviewer said are not the same customer (customer_a < customer_b).
CREATE TABLE duplicate_dismissals (
    customer_a TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    customer_b TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    dismissed_by TEXT,
    dismissed_at BIGINT NOT NULL,
    PRIMARY KEY (customer_a, customer_b)
);
CREATE INDEX duplicate_dismissals_b ON duplicate_dismissals(customer_b);
