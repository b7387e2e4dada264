-- The tamper-evident audit log (issue 17): each event carries its place in the chain (seq),
-- the hash of the event before it and its own hash (SHA-256 over the previous hash and the
-- event's canonical form, computed by the service). One head row holds the last link; every
-- append updates it in the change's own transaction, which serialises the appends.
-- Events written before this migration are sealed into the chain once, at start-up: the
-- update trigger lets a row without a hash receive one, and nothing else.
-- Keep in step with migrations/postgres/0018_audit_chain.sql.

ALTER TABLE audit_events ADD COLUMN seq INTEGER;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
-- The address the request came from, for events of signed-in users on the web.
ALTER TABLE audit_events ADD COLUMN source TEXT;

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO audit_head (id, seq, hash, updated_at)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0);

DROP TRIGGER audit_events_no_update;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- The records an event concerns (the members shown on a list page, the member whose form
-- was opened or exported): answers "who accessed this member's record" by index. No foreign
-- key to members: the history stays when an import undo removes the member.
CREATE TABLE audit_subjects (
    event_id INTEGER NOT NULL REFERENCES audit_events (id),
    member_id INTEGER NOT NULL
);
CREATE INDEX audit_subjects_member_id ON audit_subjects (member_id, event_id);
CREATE INDEX audit_subjects_event_id ON audit_subjects (event_id);
CREATE INDEX audit_events_actor_user_id ON audit_events (actor_user_id, id);

-- Every export's id, printed in the file's watermark: `dengji audit export ID` finds it.
CREATE TABLE audit_exports (
    export_id TEXT PRIMARY KEY NOT NULL,
    event_id INTEGER NOT NULL REFERENCES audit_events (id)
);
CREATE INDEX audit_exports_event_id ON audit_exports (event_id);

CREATE TRIGGER audit_subjects_no_update BEFORE UPDATE ON audit_subjects
BEGIN SELECT RAISE(ABORT, 'audit_subjects is append-only'); END;
CREATE TRIGGER audit_subjects_no_delete BEFORE DELETE ON audit_subjects
BEGIN SELECT RAISE(ABORT, 'audit_subjects is append-only'); END;
CREATE TRIGGER audit_exports_no_update BEFORE UPDATE ON audit_exports
BEGIN SELECT RAISE(ABORT, 'audit_exports is append-only'); END;
CREATE TRIGGER audit_exports_no_delete BEFORE DELETE ON audit_exports
BEGIN SELECT RAISE(ABORT, 'audit_exports is append-only'); END;
