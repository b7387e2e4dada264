-- Bulk loads (imports and their undo) keep the tallies of migration 0007 with a few grouped
-- statements per batch instead of the row triggers: while the loading transaction holds a row in
-- `tally_pause`, the insert and delete triggers of members and registrations do nothing, and the
-- service applies the batch's counts itself before it removes the row again, in the same
-- transaction (so no other connection ever sees the row).
-- Keep in step with migrations/postgres/0009_tally_pause.sql.

CREATE TABLE tally_pause (
    id INTEGER PRIMARY KEY NOT NULL
);

DROP TRIGGER members_tally_insert;
CREATE TRIGGER members_tally_insert AFTER INSERT ON members
WHEN NOT EXISTS (SELECT 1 FROM tally_pause) BEGIN
    UPDATE org_tallies SET lawyers = lawyers + (NEW.category = 'lawyer'),
        staff = staff + (NEW.category = 'staff'),
        full_members = full_members + (NEW.party_status = 'full'),
        probationary = probationary + (NEW.party_status = 'probationary')
    WHERE org_id = NEW.org_id;
    UPDATE firms SET member_count = member_count + 1 WHERE id = NEW.firm_id;
END;

DROP TRIGGER members_tally_delete;
CREATE TRIGGER members_tally_delete AFTER DELETE ON members
WHEN NOT EXISTS (SELECT 1 FROM tally_pause) BEGIN
    UPDATE org_tallies SET lawyers = lawyers - (OLD.category = 'lawyer'),
        staff = staff - (OLD.category = 'staff'),
        full_members = full_members - (OLD.party_status = 'full'),
        probationary = probationary - (OLD.party_status = 'probationary')
    WHERE org_id = OLD.org_id;
    UPDATE firms SET member_count = member_count - 1 WHERE id = OLD.firm_id;
END;

DROP TRIGGER registrations_tally_insert;
CREATE TRIGGER registrations_tally_insert AFTER INSERT ON registrations
WHEN NOT EXISTS (SELECT 1 FROM tally_pause) BEGIN
    INSERT INTO campaign_tallies SELECT m.org_id, NEW.campaign_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM members m WHERE m.id = NEW.member_id
        ON CONFLICT (org_id, campaign_id) DO NOTHING;
    UPDATE campaign_tallies SET drafts = drafts + (NEW.state = 'draft'),
        submitted = submitted + (NEW.state = 'submitted'),
        returned = returned + (NEW.state = 'returned'),
        approved = approved + (NEW.state = 'approved')
    WHERE org_id = (SELECT org_id FROM members WHERE id = NEW.member_id) AND campaign_id = NEW.campaign_id;
END;

DROP TRIGGER registrations_tally_delete;
CREATE TRIGGER registrations_tally_delete AFTER DELETE ON registrations
WHEN NOT EXISTS (SELECT 1 FROM tally_pause) BEGIN
    UPDATE campaign_tallies SET drafts = drafts - (OLD.state = 'draft'),
        submitted = submitted - (OLD.state = 'submitted'),
        returned = returned - (OLD.state = 'returned'),
        approved = approved - (OLD.state = 'approved')
    WHERE org_id = (SELECT org_id FROM members WHERE id = OLD.member_id) AND campaign_id = OLD.campaign_id;
END;
