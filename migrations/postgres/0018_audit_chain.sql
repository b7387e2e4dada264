-- The tamper-evident audit log (issue 17): each event carries its place in the chain (seq),
-- the hash of the event before it and its own hash (SHA-256 over the previous hash and the
-- event's canonical form, computed by the service). One head row holds the last link; every
-- append updates it in the change's own transaction, which serialises the appends (the row
-- lock is held to commit).
-- Events written before this migration are sealed into the chain once, at start-up: the
-- update trigger lets a row without a hash receive one, and nothing else.
-- Keep in step with migrations/sqlite/0018_audit_chain.sql.

ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
-- The address the request came from, for events of signed-in users on the web.
ALTER TABLE audit_events ADD COLUMN source TEXT;

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, updated_at)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0);

DROP TRIGGER audit_events_no_update ON audit_events;
CREATE FUNCTION audit_events_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.hash IS NOT NULL OR NEW.hash IS NULL THEN
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    RETURN NEW;
END; $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_seal_only();

-- The records an event concerns (the members shown on a list page, the member whose form
-- was opened or exported): answers "who accessed this member's record" by index. No foreign
-- key to members: the history stays when an import undo removes the member.
CREATE TABLE audit_subjects (
    event_id BIGINT NOT NULL REFERENCES audit_events (id),
    member_id BIGINT NOT NULL
);
CREATE INDEX audit_subjects_member_id ON audit_subjects (member_id, event_id);
CREATE INDEX audit_subjects_event_id ON audit_subjects (event_id);
CREATE INDEX audit_events_actor_user_id ON audit_events (actor_user_id, id);

-- Every export's id, printed in the file's watermark: `dengji audit export ID` finds it.
CREATE TABLE audit_exports (
    export_id TEXT PRIMARY KEY NOT NULL,
    event_id BIGINT NOT NULL REFERENCES audit_events (id)
);
CREATE INDEX audit_exports_event_id ON audit_exports (event_id);

CREATE TRIGGER audit_subjects_no_update BEFORE UPDATE ON audit_subjects
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_subjects_no_delete BEFORE DELETE ON audit_subjects
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_exports_no_update BEFORE UPDATE ON audit_exports
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_exports_no_delete BEFORE DELETE ON audit_exports
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
