-- Change sets (定期上报, issue 16): once a campaign is closed — or while a node's package is
-- with its parent — every change to registered data (新增, 变更, 转出, 转入, 注销/撤销) is a
-- change record of the node that keeps the record; each node submits its subtree's changes
-- of a period upward as a change set, accepted or returned (as a whole or one change at a
-- time) like a campaign package. A change is official ('accepted') once the national level
-- has accepted the province set that carried it.
-- Keep in step with migrations/postgres/0024_change_sets.sql.

CREATE TABLE changes (
    id INTEGER PRIMARY KEY NOT NULL,
    -- the node that keeps the record and reports the change
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_path TEXT NOT NULL,
    -- '2027-01' (monthly) or '2027-Q1' (quarterly)
    period TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('add', 'edit', 'out', 'in', 'close', 'stop')),
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('member', 'firm', 'org')),
    subject_id INTEGER NOT NULL,
    subject_name TEXT NOT NULL,
    -- {"field label": ["before", "after"], …}
    fields TEXT NOT NULL,
    -- the roster_history row of the version the change ended (none for 新增); the accepted
    -- roster shows that version until the change is accepted
    history_id INTEGER,
    note TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'returned', 'accepted')),
    recorded_at INTEGER NOT NULL,
    recorded_by INTEGER REFERENCES users (id),
    recorder_name TEXT NOT NULL,
    returned_reason TEXT,
    returned_by_name TEXT,
    returned_at INTEGER,
    -- the keeping node's answer to a return (what it corrected)
    answer TEXT,
    accepted_at INTEGER
);
CREATE INDEX changes_period_path ON changes (period, org_path);
CREATE INDEX changes_subject ON changes (subject_kind, subject_id, state);
CREATE INDEX changes_org_id ON changes (org_id);
CREATE INDEX changes_recorded_by ON changes (recorded_by);

CREATE TABLE change_sets (
    id INTEGER PRIMARY KEY NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    period TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'accepted', 'returned')),
    -- how many changes it carried when last submitted
    changes INTEGER NOT NULL,
    -- days past the level's deadline when last submitted
    late_days INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL,
    submitted_by INTEGER REFERENCES users (id),
    submitter_name TEXT NOT NULL,
    decided_at INTEGER,
    decided_by INTEGER REFERENCES users (id),
    decider_name TEXT,
    reason TEXT,
    UNIQUE (org_id, period)
);
CREATE INDEX change_sets_period ON change_sets (period, org_id);
CREATE INDEX change_sets_submitted_by ON change_sets (submitted_by);
CREATE INDEX change_sets_decided_by ON change_sets (decided_by);

-- The organisation's committee beyond the 书记 (组织委员) and its current term (本届任期), kept
-- current after the campaign and versioned like the rest of the organisation's particulars.
ALTER TABLE orgs ADD COLUMN organiser_name TEXT;
ALTER TABLE orgs ADD COLUMN term_start TEXT;
ALTER TABLE orgs ADD COLUMN term_end TEXT;

-- 停止登记: a member whose registration ended (组织关系转出律师行业, left the profession, 出党,
-- died …) keeps their row for the records that name it; from `stopped_on` they are off the
-- roster (the version that ended is in roster_history) and no campaign registers them.
ALTER TABLE members ADD COLUMN stopped_on TEXT;
ALTER TABLE members ADD COLUMN stop_reason TEXT;
ALTER TABLE members ADD COLUMN stop_destination TEXT;
