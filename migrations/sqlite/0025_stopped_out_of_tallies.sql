-- A member whose registration has stopped (停止登记, migration 0024) no longer counts in the
-- organisations' member tallies (the 附件6 statistics block, the cockpit): the row triggers count
-- only members with no stop date, and stopping or resuming moves the member out or back in.
-- firms.member_count still counts every record of the firm.
-- Keep in step with migrations/postgres/0025_stopped_out_of_tallies.sql.

DROP TRIGGER members_tally_insert;
CREATE TRIGGER members_tally_insert AFTER INSERT ON members
WHEN NOT EXISTS (SELECT 1 FROM tally_pause) BEGIN
    UPDATE org_tallies SET lawyers = lawyers + (NEW.category = 'lawyer'),
        staff = staff + (NEW.category = 'staff'),
        full_members = full_members + (NEW.party_status = 'full'),
        probationary = probationary + (NEW.party_status = 'probationary')
    WHERE org_id = NEW.org_id AND NEW.stopped_on IS NULL;
    UPDATE firms SET member_count = member_count + 1 WHERE id = NEW.firm_id;
END;

DROP TRIGGER members_tally_delete;
CREATE TRIGGER members_tally_delete AFTER DELETE ON members
WHEN NOT EXISTS (SELECT 1 FROM tally_pause) BEGIN
    UPDATE org_tallies SET lawyers = lawyers - (OLD.category = 'lawyer'),
        staff = staff - (OLD.category = 'staff'),
        full_members = full_members - (OLD.party_status = 'full'),
        probationary = probationary - (OLD.party_status = 'probationary')
    WHERE org_id = OLD.org_id AND OLD.stopped_on IS NULL;
    UPDATE firms SET member_count = member_count - 1 WHERE id = OLD.firm_id;
END;

DROP TRIGGER members_tally_update;
CREATE TRIGGER members_tally_update
AFTER UPDATE OF org_id, category, party_status, firm_id, stopped_on ON members BEGIN
    UPDATE org_tallies SET lawyers = lawyers - (OLD.category = 'lawyer'),
        staff = staff - (OLD.category = 'staff'),
        full_members = full_members - (OLD.party_status = 'full'),
        probationary = probationary - (OLD.party_status = 'probationary')
    WHERE org_id = OLD.org_id AND OLD.stopped_on IS NULL;
    UPDATE org_tallies SET lawyers = lawyers + (NEW.category = 'lawyer'),
        staff = staff + (NEW.category = 'staff'),
        full_members = full_members + (NEW.party_status = 'full'),
        probationary = probationary + (NEW.party_status = 'probationary')
    WHERE org_id = NEW.org_id AND NEW.stopped_on IS NULL;
    UPDATE firms SET member_count = member_count - 1 WHERE id = OLD.firm_id AND OLD.firm_id <> NEW.firm_id;
    UPDATE firms SET member_count = member_count + 1 WHERE id = NEW.firm_id AND OLD.firm_id <> NEW.firm_id;
END;

-- Recount the member columns.
UPDATE org_tallies SET
    lawyers = (SELECT COUNT(*) FROM members m WHERE m.org_id = org_tallies.org_id
        AND m.stopped_on IS NULL AND m.category = 'lawyer'),
    staff = (SELECT COUNT(*) FROM members m WHERE m.org_id = org_tallies.org_id
        AND m.stopped_on IS NULL AND m.category = 'staff'),
    full_members = (SELECT COUNT(*) FROM members m WHERE m.org_id = org_tallies.org_id
        AND m.stopped_on IS NULL AND m.party_status = 'full'),
    probationary = (SELECT COUNT(*) FROM members m WHERE m.org_id = org_tallies.org_id
        AND m.stopped_on IS NULL AND m.party_status = 'probationary');
