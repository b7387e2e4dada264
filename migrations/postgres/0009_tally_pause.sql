-- Bulk loads (imports and their undo) keep the tallies of migration 0007 with a few grouped
-- statements per batch instead of the row triggers: while the loading transaction holds a row in
-- `tally_pause`, the insert and delete triggers of members and registrations do nothing, and the
-- service applies the batch's counts itself before it removes the row again, in the same
-- transaction (no other transaction ever sees the row, and none waits for it).
-- Keep in step with migrations/sqlite/0009_tally_pause.sql.

CREATE TABLE tally_pause (
    id BIGINT PRIMARY KEY
);

CREATE OR REPLACE FUNCTION tally_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'DELETE') AND EXISTS (SELECT 1 FROM tally_pause) THEN
        RETURN NULL;
    END IF;
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

CREATE OR REPLACE FUNCTION tally_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'DELETE') AND EXISTS (SELECT 1 FROM tally_pause) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tally_registration(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tally_campaign_row(NEW.member_id, NEW.campaign_id);
        PERFORM tally_registration(NEW, 1);
    END IF;
    RETURN NULL;
END; $$;
