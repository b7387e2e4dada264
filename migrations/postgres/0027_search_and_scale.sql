-- Deadline-week scale (issue 20). Keep in step with migrations/sqlite/0027_search_and_scale.sql
-- (which explains the three parts): same tables, columns and index names.
-- Here the grams are kept by statement triggers over transition tables, so a bulk insert of
-- thousands of members runs one grouped statement, not a function per row; like the tally
-- triggers, the insert and delete ones stand aside while a bulk load holds a tally_pause row.

CREATE INDEX members_category_path ON members (category, org_path, name, id)
    WHERE stopped_on IS NULL;

CREATE INDEX orgs_level_path ON orgs (level, path, kind) WHERE dissolved_on IS NULL;

-- Member lists of a nation or province in name order (the first page without a filter).
CREATE INDEX members_name ON members (name, id, org_path);

-- The members whose registration stopped, by place: node pages count them beside the tallies.
CREATE INDEX members_stopped_path ON members (org_path) WHERE stopped_on IS NOT NULL;

-- INTEGER, as substr() takes it.
CREATE VIEW gram_positions AS SELECT k FROM generate_series(1, 100) AS k;

CREATE TABLE member_grams (
    gram TEXT NOT NULL,
    name TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    org_path TEXT NOT NULL,
    -- org_path in the key's index too, so a province's search is an index-only scan in name
    -- order (SQLite's WITHOUT ROWID table is that index already).
    PRIMARY KEY (gram, name, member_id) INCLUDE (org_path)
);

CREATE FUNCTION member_grams_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM tally_pause) THEN
        RETURN NULL;
    END IF;
    INSERT INTO member_grams (gram, name, member_id, org_path)
    SELECT substr(n.name, p.k, 1), n.name, n.id, n.org_path
        FROM new_rows n JOIN gram_positions p ON p.k <= length(n.name)
    UNION
    SELECT substr(n.name, p.k, 2), n.name, n.id, n.org_path
        FROM new_rows n JOIN gram_positions p ON p.k < length(n.name)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END; $$;

CREATE FUNCTION member_grams_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM tally_pause) THEN
        RETURN NULL;
    END IF;
    DELETE FROM member_grams g USING old_rows o
        WHERE g.member_id = o.id AND g.name = o.name AND g.gram IN (
            SELECT substr(o.name, p.k, 1) FROM gram_positions p
                WHERE p.k <= length(o.name)
            UNION ALL
            SELECT substr(o.name, p.k, 2) FROM gram_positions p
                WHERE p.k < length(o.name));
    RETURN NULL;
END; $$;

CREATE FUNCTION member_grams_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM member_grams g USING old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.name <> n.name OR o.org_path <> n.org_path)
        AND g.member_id = o.id AND g.name = o.name AND g.gram IN (
            SELECT substr(o.name, p.k, 1) FROM gram_positions p
                WHERE p.k <= length(o.name)
            UNION ALL
            SELECT substr(o.name, p.k, 2) FROM gram_positions p
                WHERE p.k < length(o.name));
    INSERT INTO member_grams (gram, name, member_id, org_path)
    SELECT substr(n.name, p.k, 1), n.name, n.id, n.org_path
        FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN gram_positions p ON p.k <= length(n.name)
        WHERE o.name <> n.name OR o.org_path <> n.org_path
    UNION
    SELECT substr(n.name, p.k, 2), n.name, n.id, n.org_path
        FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN gram_positions p ON p.k < length(n.name)
        WHERE o.name <> n.name OR o.org_path <> n.org_path
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END; $$;

CREATE TRIGGER members_grams_insert AFTER INSERT ON members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION member_grams_add();
CREATE TRIGGER members_grams_delete AFTER DELETE ON members
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION member_grams_remove();
CREATE TRIGGER members_grams_update AFTER UPDATE ON members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION member_grams_change();

INSERT INTO member_grams (gram, name, member_id, org_path)
SELECT substr(m.name, p.k, 1), m.name, m.id, m.org_path
    FROM members m JOIN gram_positions p ON p.k <= length(m.name)
UNION
SELECT substr(m.name, p.k, 2), m.name, m.id, m.org_path
    FROM members m JOIN gram_positions p ON p.k < length(m.name);
