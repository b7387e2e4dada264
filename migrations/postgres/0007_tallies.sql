-- Per-organisation tallies for the level statistics block (附件6) and the cockpits at national
-- scale: each row counts what sits directly at one organisation node — its own members and the
-- firms it covers or manages (`org_tallies`), and per campaign its members' forms by state and
-- survey results (`campaign_tallies`). Triggers keep them in step with the records
-- in the same transaction as every change, so a subtree's statistics are a sum over its
-- organisations instead of a scan of every member. `dengji check` recounts and compares.
-- Keep in step with migrations/sqlite/0007_tallies.sql.

ALTER TABLE firms ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;

CREATE TABLE org_tallies (
    org_id BIGINT PRIMARY KEY,
    lawyers BIGINT NOT NULL,
    staff BIGINT NOT NULL,
    full_members BIGINT NOT NULL,
    probationary BIGINT NOT NULL,
    firms BIGINT NOT NULL,
    firms_own BIGINT NOT NULL,
    firms_joint BIGINT NOT NULL,
    firms_with_members BIGINT NOT NULL
);

CREATE TABLE campaign_tallies (
    org_id BIGINT NOT NULL,
    campaign_id BIGINT NOT NULL,
    drafts BIGINT NOT NULL,
    submitted BIGINT NOT NULL,
    returned BIGINT NOT NULL,
    approved BIGINT NOT NULL,
    transferred_in BIGINT NOT NULL,
    case1 BIGINT NOT NULL,
    case2 BIGINT NOT NULL,
    case3 BIGINT NOT NULL,
    case4 BIGINT NOT NULL,
    case5 BIGINT NOT NULL,
    PRIMARY KEY (org_id, campaign_id)
);

-- Backfill from the records present when the migration runs.
UPDATE firms SET member_count = (SELECT COUNT(*) FROM members m WHERE m.firm_id = firms.id);
-- (grouped once per table, so an existing national database migrates in seconds)
INSERT INTO org_tallies
SELECT o.id, COALESCE(m.l, 0), COALESCE(m.s, 0), COALESCE(m.f, 0), COALESCE(m.p, 0),
    COALESCE(x.n, 0), COALESCE(x.own, 0), COALESCE(x.j, 0), COALESCE(x.w, 0)
FROM orgs o
LEFT JOIN (SELECT org_id, COUNT(CASE WHEN category = 'lawyer' THEN 1 END) AS l,
        COUNT(CASE WHEN category = 'staff' THEN 1 END) AS s,
        COUNT(CASE WHEN party_status = 'full' THEN 1 END) AS f,
        COUNT(CASE WHEN party_status = 'probationary' THEN 1 END) AS p
    FROM members GROUP BY org_id) m ON m.org_id = o.id
LEFT JOIN (SELECT COALESCE(f.org_id, f.city_org_id) AS org_id, COUNT(*) AS n,
        COUNT(CASE WHEN k.kind <> 'joint_branch' THEN 1 END) AS own,
        COUNT(CASE WHEN k.kind = 'joint_branch' THEN 1 END) AS j,
        COUNT(CASE WHEN f.member_count > 0 THEN 1 END) AS w
    FROM firms f LEFT JOIN orgs k ON k.id = f.org_id
    GROUP BY COALESCE(f.org_id, f.city_org_id)) x ON x.org_id = o.id;
INSERT INTO campaign_tallies
SELECT g.org_id, g.campaign_id, SUM(g.d), SUM(g.s), SUM(g.r), SUM(g.a), SUM(g.t),
    SUM(g.c1), SUM(g.c2), SUM(g.c3), SUM(g.c4), SUM(g.c5)
FROM (
    SELECT m.org_id, r.campaign_id,
        CASE WHEN r.state = 'draft' THEN 1 ELSE 0 END AS d,
        CASE WHEN r.state = 'submitted' THEN 1 ELSE 0 END AS s,
        CASE WHEN r.state = 'returned' THEN 1 ELSE 0 END AS r,
        CASE WHEN r.state = 'approved' THEN 1 ELSE 0 END AS a,
        0 AS t, 0 AS c1, 0 AS c2, 0 AS c3, 0 AS c4, 0 AS c5
    FROM registrations r JOIN members m ON m.id = r.member_id
    UNION ALL
    SELECT m.org_id, s.campaign_id, 0, 0, 0, 0,
        CASE WHEN s.transferred = 'in' THEN 1 ELSE 0 END,
        CASE WHEN s.case_code = '1' THEN 1 ELSE 0 END,
        CASE WHEN s.case_code = '2' THEN 1 ELSE 0 END,
        CASE WHEN s.case_code = '3' THEN 1 ELSE 0 END,
        CASE WHEN s.case_code = '4' THEN 1 ELSE 0 END,
        CASE WHEN s.case_code = '5' THEN 1 ELSE 0 END
    FROM survey_checks s JOIN members m ON m.id = s.member_id
) g
GROUP BY g.org_id, g.campaign_id;

CREATE FUNCTION tally_orgs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO org_tallies VALUES (NEW.id, 0, 0, 0, 0, 0, 0, 0, 0);
    RETURN NULL;
END; $$;
CREATE TRIGGER orgs_tally_row AFTER INSERT ON orgs FOR EACH ROW EXECUTE FUNCTION tally_orgs();

-- Add (sign 1) or take away (sign -1) one member's contribution.
CREATE FUNCTION tally_member(m members, sign INT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_tallies SET lawyers = lawyers + sign * (m.category = 'lawyer')::int,
        staff = staff + sign * (m.category = 'staff')::int,
        full_members = full_members + sign * (m.party_status = 'full')::int,
        probationary = probationary + sign * (m.party_status = 'probationary')::int
    WHERE org_id = m.org_id;
END; $$;

CREATE FUNCTION tally_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tally_member(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tally_member(NEW, 1);
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE firms SET member_count = member_count + 1 WHERE id = NEW.firm_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE firms SET member_count = member_count - 1 WHERE id = OLD.firm_id;
    ELSIF OLD.firm_id <> NEW.firm_id THEN
        UPDATE firms SET member_count = member_count - 1 WHERE id = OLD.firm_id;
        UPDATE firms SET member_count = member_count + 1 WHERE id = NEW.firm_id;
    END IF;
    RETURN NULL;
END; $$;
CREATE TRIGGER members_tally AFTER INSERT OR DELETE OR UPDATE OF org_id, category, party_status, firm_id
    ON members FOR EACH ROW EXECUTE FUNCTION tally_members();

CREATE FUNCTION tally_firm(f firms, sign INT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE k TEXT;
BEGIN
    SELECT kind INTO k FROM orgs WHERE id = f.org_id;
    UPDATE org_tallies SET firms = firms + sign,
        firms_own = firms_own + sign * (k IS NOT NULL AND k <> 'joint_branch')::int,
        firms_joint = firms_joint + sign * (k IS NOT NULL AND k = 'joint_branch')::int,
        firms_with_members = firms_with_members + sign * (f.member_count > 0)::int
    WHERE org_id = COALESCE(f.org_id, f.city_org_id);
END; $$;

CREATE FUNCTION tally_firms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tally_firm(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tally_firm(NEW, 1);
    END IF;
    RETURN NULL;
END; $$;
CREATE TRIGGER firms_tally AFTER INSERT OR DELETE OR UPDATE OF org_id, city_org_id, member_count
    ON firms FOR EACH ROW EXECUTE FUNCTION tally_firms();

CREATE FUNCTION tally_campaign_row(member BIGINT, campaign BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_tallies SELECT m.org_id, campaign, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM members m WHERE m.id = member
        ON CONFLICT (org_id, campaign_id) DO NOTHING;
END; $$;

CREATE FUNCTION tally_registration(r registrations, sign INT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_tallies SET drafts = drafts + sign * (r.state = 'draft')::int,
        submitted = submitted + sign * (r.state = 'submitted')::int,
        returned = returned + sign * (r.state = 'returned')::int,
        approved = approved + sign * (r.state = 'approved')::int
    WHERE org_id = (SELECT org_id FROM members WHERE id = r.member_id) AND campaign_id = r.campaign_id;
END; $$;

CREATE FUNCTION tally_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tally_registration(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tally_campaign_row(NEW.member_id, NEW.campaign_id);
        PERFORM tally_registration(NEW, 1);
    END IF;
    RETURN NULL;
END; $$;
CREATE TRIGGER registrations_tally AFTER INSERT OR DELETE OR UPDATE OF state, member_id, campaign_id
    ON registrations FOR EACH ROW EXECUTE FUNCTION tally_registrations();

CREATE FUNCTION tally_check(s survey_checks, sign INT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_tallies SET transferred_in = transferred_in + sign * (s.transferred = 'in')::int,
        case1 = case1 + sign * (COALESCE(s.case_code, '') = '1')::int,
        case2 = case2 + sign * (COALESCE(s.case_code, '') = '2')::int,
        case3 = case3 + sign * (COALESCE(s.case_code, '') = '3')::int,
        case4 = case4 + sign * (COALESCE(s.case_code, '') = '4')::int,
        case5 = case5 + sign * (COALESCE(s.case_code, '') = '5')::int
    WHERE org_id = (SELECT org_id FROM members WHERE id = s.member_id) AND campaign_id = s.campaign_id;
END; $$;

CREATE FUNCTION tally_survey() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tally_check(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tally_campaign_row(NEW.member_id, NEW.campaign_id);
        PERFORM tally_check(NEW, 1);
    END IF;
    RETURN NULL;
END; $$;
CREATE TRIGGER survey_tally AFTER INSERT OR DELETE OR UPDATE OF transferred, case_code, member_id, campaign_id
    ON survey_checks FOR EACH ROW EXECUTE FUNCTION tally_survey();
