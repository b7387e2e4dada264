-- Submitting upward: each node's package for a campaign (its approved records, its 附件3 and
-- its summary tables) with the parent's decision; deadline extensions granted by a parent;
-- overdue recorded against a node; the in-app inbox.
-- Keep in step with migrations/postgres/0006_packages.sql.

CREATE TABLE packages (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_path TEXT NOT NULL,
    -- submitted / accepted / returned
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL,
    submitted_by INTEGER REFERENCES users (id),
    submitter_name TEXT NOT NULL,
    -- 第一责任人 (书记) and 直接责任人 (组织委员) named on the submission.
    secretary_name TEXT NOT NULL,
    organiser_name TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    -- What was missing when submitted (JSON list) and the submitter's explanation.
    missing TEXT NOT NULL,
    missing_note TEXT,
    -- The statistics block at the moment of submission (JSON).
    summary TEXT NOT NULL,
    late_days INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by INTEGER REFERENCES users (id),
    decider_name TEXT,
    return_reason TEXT,
    first_accepted_at INTEGER,
    -- Records and child packages that changed in this subtree after a first acceptance.
    changes_after_accept INTEGER NOT NULL,
    UNIQUE (campaign_id, org_id)
);
CREATE INDEX packages_org_id ON packages (org_id);
CREATE INDEX packages_org_path ON packages (campaign_id, org_path);
CREATE INDEX packages_submitted_by ON packages (submitted_by);
CREATE INDEX packages_decided_by ON packages (decided_by);

CREATE TABLE deadline_extensions (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    until TEXT NOT NULL,
    reason TEXT NOT NULL,
    granted_by INTEGER REFERENCES users (id),
    granter_name TEXT NOT NULL,
    granted_at INTEGER NOT NULL
);
CREATE INDEX deadline_extensions_org_id ON deadline_extensions (org_id, campaign_id, id);
CREATE INDEX deadline_extensions_campaign_id ON deadline_extensions (campaign_id);
CREATE INDEX deadline_extensions_granted_by ON deadline_extensions (granted_by);

-- A node that had not submitted by its (extended) deadline; recorded once per deadline.
CREATE TABLE overdue_marks (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    deadline TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (campaign_id, org_id, deadline)
);
CREATE INDEX overdue_marks_org_id ON overdue_marks (org_id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    -- Set for reminders that must reach a user once only.
    dedupe_key TEXT,
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_user_id ON notifications (user_id, read_at);
CREATE UNIQUE INDEX notifications_dedupe ON notifications (user_id, dedupe_key);
