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
INSERT INTO org_tallies
SELECT o.id,
    (SELECT COUNT(*) FROM members m WHERE m.org_id = o.id AND m.category = 'lawyer'),
    (SELECT COUNT(*) FROM members m WHERE m.org_id = o.id AND m.category = 'staff'),
    (SELECT COUNT(*) FROM members m WHERE m.org_id = o.id AND m.party_status = 'full'),
    (SELECT COUNT(*) FROM members m WHERE m.org_id = o.id AND m.party_status = 'probationary'),
    (SELECT COUNT(*) FROM firms f WHERE COALESCE(f.org_id, f.city_org_id) = o.id),
    (SELECT COUNT(*) FROM firms f JOIN orgs c ON c.id = f.org_id WHERE f.org_id = o.id AND c.kind <> 'joint_branch'),
    (SELECT COUNT(*) FROM firms f JOIN orgs c ON c.id = f.org_id WHERE f.org_id = o.id AND c.kind = 'joint_branch'),
    (SELECT COUNT(*) FROM firms f WHERE COALESCE(f.org_id, f.city_org_id) = o.id AND f.member_count > 0)
FROM orgs o;
INSERT INTO campaign_tallies
SELECT o.id, c.id,
    (SELECT COUNT(*) FROM registrations r JOIN members m ON m.id = r.member_id WHERE m.org_id = o.id AND r.campaign_id = c.id AND r.state = 'draft'),
    (SELECT COUNT(*) FROM registrations r JOIN members m ON m.id = r.member_id WHERE m.org_id = o.id AND r.campaign_id = c.id AND r.state = 'submitted'),
    (SELECT COUNT(*) FROM registrations r JOIN members m ON m.id = r.member_id WHERE m.org_id = o.id AND r.campaign_id = c.id AND r.state = 'returned'),
    (SELECT COUNT(*) FROM registrations r JOIN members m ON m.id = r.member_id WHERE m.org_id = o.id AND r.campaign_id = c.id AND r.state = 'approved'),
    (SELECT COUNT(*) FROM survey_checks s JOIN members m ON m.id = s.member_id WHERE m.org_id = o.id AND s.campaign_id = c.id AND s.transferred = 'in'),
    (SELECT COUNT(*) FROM survey_checks s JOIN members m ON m.id = s.member_id WHERE m.org_id = o.id AND s.campaign_id = c.id AND s.case_code = '1'),
    (SELECT COUNT(*) FROM survey_checks s JOIN members m ON m.id = s.member_id WHERE m.org_id = o.id AND s.campaign_id = c.id AND s.case_code = '2'),
    (SELECT COUNT(*) FROM survey_checks s JOIN members m ON m.id = s.member_id WHERE m.org_id = o.id AND s.campaign_id = c.id AND s.case_code = '3'),
    (SELECT COUNT(*) FROM survey_checks s JOIN members m ON m.id = s.member_id WHERE m.org_id = o.id AND s.campaign_id = c.id AND s.case_code = '4'),
    (SELECT COUNT(*) FROM survey_checks s JOIN members m ON m.id = s.member_id WHERE m.org_id = o.id AND s.campaign_id = c.id AND s.case_code = '5')
FROM orgs o, campaigns c
WHERE EXISTS (SELECT 1 FROM registrations r JOIN members m ON m.id = r.member_id WHERE m.org_id = o.id AND r.campaign_id = c.id)
   OR EXISTS (SELECT 1 FROM survey_checks s JOIN members m ON m.id = s.member_id WHERE m.org_id = o.id AND s.campaign_id = c.id);

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
