-- A member whose registration has stopped (停止登记, migration 0024) no longer counts in the
-- organisations' member tallies (the 附件6 statistics block, the cockpit): the row triggers count
-- only members with no stop date, and stopping or resuming moves the member out or back in.
-- firms.member_count still counts every record of the firm.
-- Keep in step with migrations/sqlite/0025_stopped_out_of_tallies.sql.

CREATE OR REPLACE FUNCTION tally_member(m members, sign INT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF m.stopped_on IS NOT NULL THEN
        RETURN;
    END IF;
    UPDATE org_tallies SET lawyers = lawyers + sign * (m.category = 'lawyer')::int,
        staff = staff + sign * (m.category = 'staff')::int,
        full_members = full_members + sign * (m.party_status = 'full')::int,
        probationary = probationary + sign * (m.party_status = 'probationary')::int
    WHERE org_id = m.org_id;
END; $$;

DROP TRIGGER members_tally ON members;
CREATE TRIGGER members_tally
    AFTER INSERT OR DELETE OR UPDATE OF org_id, category, party_status, firm_id, stopped_on
    ON members FOR EACH ROW EXECUTE FUNCTION tally_members();

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
