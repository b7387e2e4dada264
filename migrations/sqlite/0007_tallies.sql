-- Per-organisation tallies for the level statistics block (附件6) and the cockpits at national
-- scale: each row counts what sits directly at one organisation node — its own members and the
-- firms it covers or manages (`org_tallies`), and per campaign its members' forms by state and
-- survey results (`campaign_tallies`). Triggers keep them in step with the records
-- in the same transaction as every change, so a subtree's statistics are a sum over its
-- organisations instead of a scan of every member. `dengji check` recounts and compares.
-- Keep in step with migrations/postgres/0007_tallies.sql.

ALTER TABLE firms ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE org_tallies (
    org_id INTEGER PRIMARY KEY NOT NULL,
    lawyers INTEGER NOT NULL,
    staff INTEGER NOT NULL,
    full_members INTEGER NOT NULL,
    probationary INTEGER NOT NULL,
    firms INTEGER NOT NULL,
    firms_own INTEGER NOT NULL,
    firms_joint INTEGER NOT NULL,
    firms_with_members INTEGER NOT NULL
);

CREATE TABLE campaign_tallies (
    org_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    drafts INTEGER NOT NULL,
    submitted INTEGER NOT NULL,
    returned INTEGER NOT NULL,
    approved INTEGER NOT NULL,
    transferred_in INTEGER NOT NULL,
    case1 INTEGER NOT NULL,
    case2 INTEGER NOT NULL,
    case3 INTEGER NOT NULL,
    case4 INTEGER NOT NULL,
    case5 INTEGER NOT NULL,
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

CREATE TRIGGER orgs_tally_row AFTER INSERT ON orgs BEGIN
    INSERT INTO org_tallies VALUES (NEW.id, 0, 0, 0, 0, 0, 0, 0, 0);
END;

CREATE TRIGGER members_tally_insert AFTER INSERT ON members BEGIN
    UPDATE org_tallies SET lawyers = lawyers + (NEW.category = 'lawyer'),
        staff = staff + (NEW.category = 'staff'),
        full_members = full_members + (NEW.party_status = 'full'),
        probationary = probationary + (NEW.party_status = 'probationary')
    WHERE org_id = NEW.org_id;
    UPDATE firms SET member_count = member_count + 1 WHERE id = NEW.firm_id;
END;

CREATE TRIGGER members_tally_delete AFTER DELETE ON members BEGIN
    UPDATE org_tallies SET lawyers = lawyers - (OLD.category = 'lawyer'),
        staff = staff - (OLD.category = 'staff'),
        full_members = full_members - (OLD.party_status = 'full'),
        probationary = probationary - (OLD.party_status = 'probationary')
    WHERE org_id = OLD.org_id;
    UPDATE firms SET member_count = member_count - 1 WHERE id = OLD.firm_id;
END;

CREATE TRIGGER members_tally_update AFTER UPDATE OF org_id, category, party_status, firm_id ON members BEGIN
    UPDATE org_tallies SET lawyers = lawyers - (OLD.category = 'lawyer'),
        staff = staff - (OLD.category = 'staff'),
        full_members = full_members - (OLD.party_status = 'full'),
        probationary = probationary - (OLD.party_status = 'probationary')
    WHERE org_id = OLD.org_id;
    UPDATE org_tallies SET lawyers = lawyers + (NEW.category = 'lawyer'),
        staff = staff + (NEW.category = 'staff'),
        full_members = full_members + (NEW.party_status = 'full'),
        probationary = probationary + (NEW.party_status = 'probationary')
    WHERE org_id = NEW.org_id;
    UPDATE firms SET member_count = member_count - 1 WHERE id = OLD.firm_id AND OLD.firm_id <> NEW.firm_id;
    UPDATE firms SET member_count = member_count + 1 WHERE id = NEW.firm_id AND OLD.firm_id <> NEW.firm_id;
END;

CREATE TRIGGER firms_tally_insert AFTER INSERT ON firms BEGIN
    UPDATE org_tallies SET firms = firms + 1,
        firms_own = firms_own + COALESCE((SELECT kind <> 'joint_branch' FROM orgs WHERE id = NEW.org_id), 0),
        firms_joint = firms_joint + COALESCE((SELECT kind = 'joint_branch' FROM orgs WHERE id = NEW.org_id), 0),
        firms_with_members = firms_with_members + (NEW.member_count > 0)
    WHERE org_id = COALESCE(NEW.org_id, NEW.city_org_id);
END;

CREATE TRIGGER firms_tally_delete AFTER DELETE ON firms BEGIN
    UPDATE org_tallies SET firms = firms - 1,
        firms_own = firms_own - COALESCE((SELECT kind <> 'joint_branch' FROM orgs WHERE id = OLD.org_id), 0),
        firms_joint = firms_joint - COALESCE((SELECT kind = 'joint_branch' FROM orgs WHERE id = OLD.org_id), 0),
        firms_with_members = firms_with_members - (OLD.member_count > 0)
    WHERE org_id = COALESCE(OLD.org_id, OLD.city_org_id);
END;

CREATE TRIGGER firms_tally_update AFTER UPDATE OF org_id, city_org_id, member_count ON firms BEGIN
    UPDATE org_tallies SET firms = firms - 1,
        firms_own = firms_own - COALESCE((SELECT kind <> 'joint_branch' FROM orgs WHERE id = OLD.org_id), 0),
        firms_joint = firms_joint - COALESCE((SELECT kind = 'joint_branch' FROM orgs WHERE id = OLD.org_id), 0),
        firms_with_members = firms_with_members - (OLD.member_count > 0)
    WHERE org_id = COALESCE(OLD.org_id, OLD.city_org_id);
    UPDATE org_tallies SET firms = firms + 1,
        firms_own = firms_own + COALESCE((SELECT kind <> 'joint_branch' FROM orgs WHERE id = NEW.org_id), 0),
        firms_joint = firms_joint + COALESCE((SELECT kind = 'joint_branch' FROM orgs WHERE id = NEW.org_id), 0),
        firms_with_members = firms_with_members + (NEW.member_count > 0)
    WHERE org_id = COALESCE(NEW.org_id, NEW.city_org_id);
END;

CREATE TRIGGER registrations_tally_insert AFTER INSERT ON registrations BEGIN
    INSERT INTO campaign_tallies SELECT m.org_id, NEW.campaign_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM members m WHERE m.id = NEW.member_id
        ON CONFLICT (org_id, campaign_id) DO NOTHING;
    UPDATE campaign_tallies SET drafts = drafts + (NEW.state = 'draft'),
        submitted = submitted + (NEW.state = 'submitted'),
        returned = returned + (NEW.state = 'returned'),
        approved = approved + (NEW.state = 'approved')
    WHERE org_id = (SELECT org_id FROM members WHERE id = NEW.member_id) AND campaign_id = NEW.campaign_id;
END;

CREATE TRIGGER registrations_tally_delete AFTER DELETE ON registrations BEGIN
    UPDATE campaign_tallies SET drafts = drafts - (OLD.state = 'draft'),
        submitted = submitted - (OLD.state = 'submitted'),
        returned = returned - (OLD.state = 'returned'),
        approved = approved - (OLD.state = 'approved')
    WHERE org_id = (SELECT org_id FROM members WHERE id = OLD.member_id) AND campaign_id = OLD.campaign_id;
END;

CREATE TRIGGER registrations_tally_update AFTER UPDATE OF state, member_id, campaign_id ON registrations BEGIN
    UPDATE campaign_tallies SET drafts = drafts - (OLD.state = 'draft'),
        submitted = submitted - (OLD.state = 'submitted'),
        returned = returned - (OLD.state = 'returned'),
        approved = approved - (OLD.state = 'approved')
    WHERE org_id = (SELECT org_id FROM members WHERE id = OLD.member_id) AND campaign_id = OLD.campaign_id;
    INSERT INTO campaign_tallies SELECT m.org_id, NEW.campaign_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM members m WHERE m.id = NEW.member_id
        ON CONFLICT (org_id, campaign_id) DO NOTHING;
    UPDATE campaign_tallies SET drafts = drafts + (NEW.state = 'draft'),
        submitted = submitted + (NEW.state = 'submitted'),
        returned = returned + (NEW.state = 'returned'),
        approved = approved + (NEW.state = 'approved')
    WHERE org_id = (SELECT org_id FROM members WHERE id = NEW.member_id) AND campaign_id = NEW.campaign_id;
END;

CREATE TRIGGER survey_tally_insert AFTER INSERT ON survey_checks BEGIN
    INSERT INTO campaign_tallies SELECT m.org_id, NEW.campaign_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM members m WHERE m.id = NEW.member_id
        ON CONFLICT (org_id, campaign_id) DO NOTHING;
    UPDATE campaign_tallies SET transferred_in = transferred_in + (NEW.transferred = 'in'),
        case1 = case1 + (COALESCE(NEW.case_code, '') = '1'),
        case2 = case2 + (COALESCE(NEW.case_code, '') = '2'),
        case3 = case3 + (COALESCE(NEW.case_code, '') = '3'),
        case4 = case4 + (COALESCE(NEW.case_code, '') = '4'),
        case5 = case5 + (COALESCE(NEW.case_code, '') = '5')
    WHERE org_id = (SELECT org_id FROM members WHERE id = NEW.member_id) AND campaign_id = NEW.campaign_id;
END;

CREATE TRIGGER survey_tally_delete AFTER DELETE ON survey_checks BEGIN
    UPDATE campaign_tallies SET transferred_in = transferred_in - (OLD.transferred = 'in'),
        case1 = case1 - (COALESCE(OLD.case_code, '') = '1'),
        case2 = case2 - (COALESCE(OLD.case_code, '') = '2'),
        case3 = case3 - (COALESCE(OLD.case_code, '') = '3'),
        case4 = case4 - (COALESCE(OLD.case_code, '') = '4'),
        case5 = case5 - (COALESCE(OLD.case_code, '') = '5')
    WHERE org_id = (SELECT org_id FROM members WHERE id = OLD.member_id) AND campaign_id = OLD.campaign_id;
END;

CREATE TRIGGER survey_tally_update AFTER UPDATE OF transferred, case_code, member_id, campaign_id ON survey_checks BEGIN
    UPDATE campaign_tallies SET transferred_in = transferred_in - (OLD.transferred = 'in'),
        case1 = case1 - (COALESCE(OLD.case_code, '') = '1'),
        case2 = case2 - (COALESCE(OLD.case_code, '') = '2'),
        case3 = case3 - (COALESCE(OLD.case_code, '') = '3'),
        case4 = case4 - (COALESCE(OLD.case_code, '') = '4'),
        case5 = case5 - (COALESCE(OLD.case_code, '') = '5')
    WHERE org_id = (SELECT org_id FROM members WHERE id = OLD.member_id) AND campaign_id = OLD.campaign_id;
    INSERT INTO campaign_tallies SELECT m.org_id, NEW.campaign_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM members m WHERE m.id = NEW.member_id
        ON CONFLICT (org_id, campaign_id) DO NOTHING;
    UPDATE campaign_tallies SET transferred_in = transferred_in + (NEW.transferred = 'in'),
        case1 = case1 + (COALESCE(NEW.case_code, '') = '1'),
        case2 = case2 + (COALESCE(NEW.case_code, '') = '2'),
        case3 = case3 + (COALESCE(NEW.case_code, '') = '3'),
        case4 = case4 + (COALESCE(NEW.case_code, '') = '4'),
        case5 = case5 + (COALESCE(NEW.case_code, '') = '5')
    WHERE org_id = (SELECT org_id FROM members WHERE id = NEW.member_id) AND campaign_id = NEW.campaign_id;
END;
