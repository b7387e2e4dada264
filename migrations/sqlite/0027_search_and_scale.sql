-- Deadline-week scale (issue 20). Keep in step with migrations/postgres/0027_search_and_scale.sql:
-- same tables, columns and index names.
--
-- 1. The 附件4 count and list of a province filter members on category and on "not stopped":
--    a partial index in the list's own order answers both without reading table rows.
-- 2. A national or provincial member list in name order walks a name index (see
--    store::members::list_with_forms) instead of sorting the province for every page.
-- 3. The 附件6 organisation count, list and counts by kind take the grassroots organisations of a
--    path range.
-- 4. National search: `name LIKE '%王%'` cannot use a B-tree, and a trigram index (FTS5,
--    pg_trgm) cannot answer patterns under three characters, which is most of what people type
--    for a Chinese name (a surname, a two-character given name). `member_grams` holds every
--    character and every pair of adjacent characters of each member's name (as written), in
--    name order, with the member's organisation path: a search takes the rows of one gram in
--    name order and checks the whole pattern on the member row. Kept by triggers in the same
--    transaction as every change of a member; `dengji check` recounts it. Bulk loads that hold
--    a `tally_pause` row (imports, their undo, the demo) write a batch's grams with one
--    statement instead (store::tallies::add_grams / remove_grams / REBUILD). Letters keep their case
--    (SQLite's LIKE ignores it): a search made only of ASCII letters reads the range instead.

CREATE INDEX members_category_path ON members (category, org_path, name, id)
    WHERE stopped_on IS NULL;

CREATE INDEX orgs_level_path ON orgs (level, path, kind) WHERE dissolved_on IS NULL;

-- Member lists of a nation or province in name order (the first page without a filter).
CREATE INDEX members_name ON members (name, id, org_path);

-- The members whose registration stopped, by place: node pages count them beside the tallies.
CREATE INDEX members_stopped_path ON members (org_path) WHERE stopped_on IS NOT NULL;

-- The inserts use UNION, not UNION ALL: a name may repeat a character (and SQLite lets the
-- firing statement's conflict clause, such as a bulk INSERT OR FAIL, override OR IGNORE).

-- Positions 1..100 in a name (longer names are indexed on their first 100 characters).
CREATE VIEW gram_positions AS
    WITH RECURSIVE p(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM p WHERE k < 100)
    SELECT k FROM p;

CREATE TABLE member_grams (
    gram TEXT NOT NULL,
    name TEXT NOT NULL,
    member_id INTEGER NOT NULL,
    org_path TEXT NOT NULL,
    PRIMARY KEY (gram, name, member_id)
) WITHOUT ROWID;

CREATE TRIGGER members_grams_insert AFTER INSERT ON members
WHEN NOT EXISTS (SELECT 1 FROM tally_pause) BEGIN
    INSERT INTO member_grams (gram, name, member_id, org_path)
    SELECT substr(NEW.name, k, 1), NEW.name, NEW.id, NEW.org_path
        FROM gram_positions WHERE k <= length(NEW.name)
    UNION
    SELECT substr(NEW.name, k, 2), NEW.name, NEW.id, NEW.org_path
        FROM gram_positions WHERE k < length(NEW.name);
END;

CREATE TRIGGER members_grams_delete AFTER DELETE ON members
WHEN NOT EXISTS (SELECT 1 FROM tally_pause) BEGIN
    DELETE FROM member_grams WHERE name = OLD.name AND member_id = OLD.id AND gram IN (
        SELECT substr(OLD.name, k, 1) FROM gram_positions WHERE k <= length(OLD.name)
        UNION ALL
        SELECT substr(OLD.name, k, 2) FROM gram_positions WHERE k < length(OLD.name));
END;

CREATE TRIGGER members_grams_update AFTER UPDATE OF name, org_path ON members
WHEN OLD.name IS NOT NEW.name OR OLD.org_path IS NOT NEW.org_path BEGIN
    DELETE FROM member_grams WHERE name = OLD.name AND member_id = OLD.id AND gram IN (
        SELECT substr(OLD.name, k, 1) FROM gram_positions WHERE k <= length(OLD.name)
        UNION ALL
        SELECT substr(OLD.name, k, 2) FROM gram_positions WHERE k < length(OLD.name));
    INSERT INTO member_grams (gram, name, member_id, org_path)
    SELECT substr(NEW.name, k, 1), NEW.name, NEW.id, NEW.org_path
        FROM gram_positions WHERE k <= length(NEW.name)
    UNION
    SELECT substr(NEW.name, k, 2), NEW.name, NEW.id, NEW.org_path
        FROM gram_positions WHERE k < length(NEW.name);
END;

INSERT INTO member_grams (gram, name, member_id, org_path)
SELECT substr(m.name, p.k, 1), m.name, m.id, m.org_path
    FROM members m JOIN gram_positions p ON p.k <= length(m.name)
UNION
SELECT substr(m.name, p.k, 2), m.name, m.id, m.org_path
    FROM members m JOIN gram_positions p ON p.k < length(m.name);
