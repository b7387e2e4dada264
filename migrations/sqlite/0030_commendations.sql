-- 宣传 (notice §四(五), issue 18): 先进党组织, 优秀党员 and 优秀党务工作者, nominated by a node with
-- a citation (事迹) for an award of that node or of a node above it, forwarded up the chain by
-- each level's 审核人 until the awarding node approves it (or a level declines it with a reason).
-- What would embarrass the award at nomination time (an open case, dues behind, a returned or
-- false record, an overdue organisation) is kept with it as the nominator saw it.
-- Keep in step with migrations/postgres/0030_commendations.sql.

CREATE TABLE commendations (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('org', 'member', 'worker')),
    -- The person (优秀党员, 优秀党务工作者) or the organisation (先进党组织).
    member_id INTEGER REFERENCES members (id),
    org_id INTEGER REFERENCES orgs (id),
    -- The subject's name and organisation path at nomination (the scope of the record).
    subject_name TEXT NOT NULL,
    subject_path TEXT NOT NULL,
    -- 优秀党务工作者: the party post (书记, 组织委员, 经办人 …).
    post TEXT,
    citation TEXT NOT NULL,
    year INTEGER NOT NULL,
    nominator_org_id INTEGER NOT NULL REFERENCES orgs (id),
    awarding_org_id INTEGER NOT NULL REFERENCES orgs (id),
    awarding_path TEXT NOT NULL,
    -- The node whose 审核人 decides next (none once decided).
    holder_org_id INTEGER REFERENCES orgs (id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
    awarded_on TEXT,
    -- JSON array of the warnings shown when it was nominated.
    warnings TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL,
    CHECK ((kind = 'org') = (org_id IS NOT NULL AND member_id IS NULL)),
    CHECK ((state = 'pending') = (holder_org_id IS NOT NULL)),
    CHECK ((state = 'approved') = (awarded_on IS NOT NULL))
);
CREATE INDEX commendations_subject ON commendations (subject_path, year);
CREATE INDEX commendations_awarding ON commendations (awarding_path, year);
CREATE INDEX commendations_holder ON commendations (holder_org_id);
CREATE INDEX commendations_member ON commendations (member_id);
CREATE INDEX commendations_org ON commendations (org_id);
CREATE INDEX commendations_nominator ON commendations (nominator_org_id);
CREATE INDEX commendations_awarding_org ON commendations (awarding_org_id, year);
CREATE INDEX commendations_created_by ON commendations (created_by);

-- Each step: nominated, forwarded, approved or declined, by whom and at which node.
CREATE TABLE commendation_steps (
    id INTEGER PRIMARY KEY NOT NULL,
    commendation_id INTEGER NOT NULL REFERENCES commendations (id),
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    action TEXT NOT NULL CHECK (action IN ('nominated', 'forwarded', 'approved', 'declined')),
    note TEXT,
    user_id INTEGER REFERENCES users (id),
    user_name TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX commendation_steps_of ON commendation_steps (commendation_id, id);
CREATE INDEX commendation_steps_org ON commendation_steps (org_id);
CREATE INDEX commendation_steps_user ON commendation_steps (user_id);
