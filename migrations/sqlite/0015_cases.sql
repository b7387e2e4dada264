-- 分类处理 as tracked cases (domain::case): one case per member and campaign, opened from the
-- survey's 未转入 mark or by hand, owned by the city-level node (the local industry committee
-- or the 司法行政机关党组织 standing in), with its timeline of steps, its outcome and, for cases
-- 4 and 5, the written report (书面报告) the superior organisation acknowledges.
-- Keep in step with migrations/postgres/0015_cases.sql.

CREATE TABLE cases (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    member_id INTEGER NOT NULL REFERENCES members (id),
    -- The member's organisation and its path when the case was opened (the case's scope).
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_path TEXT NOT NULL,
    -- The node that handles it.
    owner_org_id INTEGER NOT NULL REFERENCES orgs (id),
    owner_path TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('1', '2', '3', '4', '5')),
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    outcome TEXT CHECK (outcome IN ('transferred_in', 'local_management', 'industry_received',
                                    'transferred_out', 'handled_by_rules')),
    -- Beijing date, YYYY-MM-DD.
    due_on TEXT NOT NULL,
    -- survey / hand
    source TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    opened_by INTEGER REFERENCES users (id),
    opener_name TEXT NOT NULL,
    closed_at INTEGER,
    closed_by INTEGER REFERENCES users (id),
    closer_name TEXT,
    -- When the owner and its parent were told the case is overdue.
    overdue_noticed_at INTEGER,
    version INTEGER NOT NULL,
    UNIQUE (campaign_id, member_id)
);
CREATE INDEX cases_member_id ON cases (member_id);
CREATE INDEX cases_org_id ON cases (org_id);
CREATE INDEX cases_owner_org_id ON cases (owner_org_id);
CREATE INDEX cases_opened_by ON cases (opened_by);
CREATE INDEX cases_closed_by ON cases (closed_by);
CREATE INDEX cases_scope ON cases (campaign_id, org_path);

CREATE TABLE case_steps (
    id INTEGER PRIMARY KEY NOT NULL,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    at INTEGER NOT NULL,
    by_user INTEGER REFERENCES users (id),
    by_name TEXT NOT NULL
);
CREATE INDEX case_steps_case_id ON case_steps (case_id, id);
CREATE INDEX case_steps_by_user ON case_steps (by_user);

CREATE TABLE case_reports (
    id INTEGER PRIMARY KEY NOT NULL,
    case_id INTEGER NOT NULL UNIQUE REFERENCES cases (id),
    -- The superior organisation it goes to (the owner's parent).
    to_org_id INTEGER NOT NULL REFERENCES orgs (id),
    state TEXT NOT NULL CHECK (state IN ('submitted', 'acknowledged', 'returned')),
    -- The report as submitted (JSON): member, facts, steps, outcome, responsible people.
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL,
    submitted_by INTEGER REFERENCES users (id),
    submitter_name TEXT NOT NULL,
    decided_at INTEGER,
    decided_by INTEGER REFERENCES users (id),
    decider_name TEXT,
    return_reason TEXT
);
CREATE INDEX case_reports_to_org_id ON case_reports (to_org_id);
CREATE INDEX case_reports_submitted_by ON case_reports (submitted_by);
CREATE INDEX case_reports_decided_by ON case_reports (decided_by);

-- Days from opening to a case's due date, per category 1–5 (comma-separated), set by the
-- national administrators per campaign.
ALTER TABLE campaigns ADD COLUMN case_due_days TEXT NOT NULL DEFAULT '30,60,30,30,30';
