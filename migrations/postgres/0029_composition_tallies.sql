-- 研判 at national scale (issue 18): the members of a subtree by sex, age band, 民族, 学历, 党龄,
-- status, category and 执业年限 without reading a million rows. `composition_tallies` counts the
-- registered members (not stopped) per scope — the member's organisation path cut at the city
-- level, so a national, provincial or city subtree is a range of keys — per facet and bucket.
-- The bands are as of the latest campaign's cut-off: `composition_cuts` holds its limits
-- (computed by dengji, store::analysis::Cuts), and starting a campaign recounts the tallies for
-- the new cut-off. Row triggers keep them in step with every change of a member in the same
-- transaction; bulk loads that hold a `tally_pause` row count a batch with one statement
-- (store::analysis::add_batch / remove_batch / rebuild_composition); `dengji check` recounts.
-- The trigger bodies are the rows of store::analysis::tally_rows (a unit test compares them).
-- Rows are deleted when their count reaches 0, so a rebuild reproduces the table exactly.
-- Keep in step with migrations/sqlite/0029_composition_tallies.sql.

CREATE TABLE composition_cuts (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    campaign_id BIGINT NOT NULL,
    cutoff TEXT NOT NULL,
    age1 TEXT NOT NULL, age2 TEXT NOT NULL, age3 TEXT NOT NULL, age4 TEXT NOT NULL,
    party1 TEXT NOT NULL, party2 TEXT NOT NULL, party3 TEXT NOT NULL, party4 TEXT NOT NULL,
    practice1 TEXT NOT NULL, practice2 TEXT NOT NULL, practice3 TEXT NOT NULL
);

CREATE TABLE composition_facets (
    facet TEXT PRIMARY KEY
);
INSERT INTO composition_facets (facet) VALUES ('sex'), ('age'), ('ethnicity'), ('education'), ('party_age'), ('status'), ('category'), ('practice'), ('nationality'), ('age_sex');

CREATE TABLE composition_tallies (
    scope TEXT NOT NULL,
    facet TEXT NOT NULL,
    bucket TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (scope, facet, bucket)
);

-- Add (sign 1) or take away (sign -1) one member's rows.
CREATE FUNCTION tally_composition(rec members, sign INT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF rec.stopped_on IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO composition_tallies (scope, facet, bucket, n)
    SELECT scope, facet, bucket, sign FROM (SELECT substring(m.org_path from '^/[0-9]+/(?:[0-9]+/(?:[0-9]+/)?)?') AS scope, f.facet AS facet, CASE f.facet WHEN 'category' THEN m.category WHEN 'status' THEN m.party_status WHEN 'sex' THEN m.sex WHEN 'age' THEN CASE WHEN m.birth_date > c.age1 THEN 'le30' WHEN m.birth_date > c.age2 THEN '31_40' WHEN m.birth_date > c.age3 THEN '41_50' WHEN m.birth_date > c.age4 THEN '51_60' ELSE 'gt60' END WHEN 'ethnicity' THEN CASE WHEN m.ethnicity = '01' THEN 'han' ELSE 'minority' END WHEN 'education' THEN CASE WHEN substr(m.education, 1, 1) = '1' THEN 'grad' WHEN substr(m.education, 1, 1) = '2' THEN 'bachelor' ELSE 'below' END WHEN 'party_age' THEN CASE WHEN m.party_status <> 'full' THEN 'probationary' WHEN COALESCE(m.full_member_on, '') = '' THEN 'unknown' WHEN m.full_member_on > c.party1 THEN 'lt5' WHEN m.full_member_on > c.party2 THEN '5_10' WHEN m.full_member_on > c.party3 THEN '10_20' WHEN m.full_member_on > c.party4 THEN '20_30' ELSE '30plus' END WHEN 'practice' THEN CASE WHEN m.category <> 'lawyer' THEN 'staff' WHEN COALESCE(m.licence_no, '') = '' THEN 'unknown' WHEN substr(m.licence_no, 6, 4) > c.practice1 THEN 'lt5' WHEN substr(m.licence_no, 6, 4) > c.practice2 THEN '5_10' WHEN substr(m.licence_no, 6, 4) > c.practice3 THEN '10_20' ELSE '20plus' END WHEN 'nationality' THEN m.ethnicity ELSE CASE WHEN m.birth_date > c.age1 THEN 'le30' WHEN m.birth_date > c.age2 THEN '31_40' WHEN m.birth_date > c.age3 THEN '41_50' WHEN m.birth_date > c.age4 THEN '51_60' ELSE 'gt60' END || ':' || m.sex END AS bucket FROM (SELECT rec.*) m CROSS JOIN composition_cuts c CROSS JOIN composition_facets f WHERE m.stopped_on IS NULL AND (f.facet <> 'nationality' OR m.ethnicity <> '01')) x WHERE true
    ON CONFLICT (scope, facet, bucket) DO UPDATE SET n = composition_tallies.n + EXCLUDED.n;
    IF sign < 0 THEN
        DELETE FROM composition_tallies WHERE n = 0 AND scope = substring(rec.org_path from '^/[0-9]+/(?:[0-9]+/(?:[0-9]+/)?)?');
    END IF;
END; $$;

CREATE FUNCTION tally_compositions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'DELETE') AND EXISTS (SELECT 1 FROM tally_pause) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tally_composition(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tally_composition(NEW, 1);
    END IF;
    RETURN NULL;
END; $$;

CREATE TRIGGER members_composition
    AFTER INSERT OR DELETE OR UPDATE OF sex, ethnicity, birth_date, education, party_status, category, licence_no, full_member_on, org_path, stopped_on
    ON members FOR EACH ROW EXECUTE FUNCTION tally_compositions();
