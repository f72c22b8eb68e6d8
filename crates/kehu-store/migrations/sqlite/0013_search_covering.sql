-- Searches by a prefix of the pinyin or the initials (zw → 张伟) or of an
-- e-mail find up to tens of thousands of entries before they keep the
-- newest 1,000 in scope: these indexes hold what that needs (live or not,
-- owner, team, id), so the range is read from the index alone, without a
-- lookup of each customer's row. The pinyin index keeps its order
-- (name, then id) for lists sorted by name.
DROP INDEX customers_pinyin;
CREATE INDEX customers_pinyin ON customers(name_pinyin, id, deleted_at, owner_id, team_id);
DROP INDEX customers_initials;
CREATE INDEX customers_initials ON customers(name_initials, deleted_at, owner_id, team_id, id);
DROP INDEX customers_dup_email;
CREATE INDEX customers_dup_email ON customers(email, owner_id, team_id, id)
    WHERE deleted_at IS NULL AND email IS NOT NULL;
