-- Four-eyes (双人复核, issue 17): a risky action asked for by one account and carried out
-- only when a second account of the required role in scope approves it. The payload is the
-- action's arguments (JSON); at most one pending request per action and target.
-- Keep in step with migrations/postgres/0021_four_eyes.sql.

CREATE TABLE approvals (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_path TEXT NOT NULL,
    summary TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'refused', 'withdrawn', 'stale')),
    requested_by INTEGER NOT NULL REFERENCES users (id),
    requested_name TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    decided_by INTEGER REFERENCES users (id),
    decided_name TEXT,
    decided_at INTEGER,
    decision_note TEXT
);

CREATE UNIQUE INDEX approvals_one_pending ON approvals (kind, target_kind, target_id)
    WHERE state = 'pending';
CREATE INDEX approvals_state_path ON approvals (state, target_path);
CREATE INDEX approvals_requested_by ON approvals (requested_by);
CREATE INDEX approvals_decided_by ON approvals (decided_by);
