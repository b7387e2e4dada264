-- 抽查核验 and 追责 (notice §三(五)1, §四(二)): seeded stratified samples of registered records
-- drawn by the national (or a provincial) node over its subtree, with the frozen population
-- they were drawn from, each sampled record's check, and the accountability register of the
-- nodes and people behind a false record, a missed deadline or an overdue case.
-- Keep in step with migrations/postgres/0016_spot_checks.sql.

CREATE TABLE samples (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    -- The drawing node and its path (the sample's scope).
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_path TEXT NOT NULL,
    stratum_level TEXT NOT NULL CHECK (stratum_level IN ('province', 'city', 'firm')),
    -- Parts per million (2 % = 20000), per-stratum bounds, risk weighting (0/1).
    rate_ppm INTEGER NOT NULL CHECK (rate_ppm > 0 AND rate_ppm <= 1000000),
    min_per INTEGER NOT NULL,
    max_per INTEGER NOT NULL,
    weighted INTEGER NOT NULL,
    -- The seed as decimal text (a u64 does not fit a signed BIGINT).
    seed TEXT NOT NULL,
    population INTEGER NOT NULL,
    size INTEGER NOT NULL,
    -- SHA-256 over every stratum's frozen list, in stratum order.
    population_digest TEXT NOT NULL,
    -- The campaign date the population was judged at (YYYY-MM-DD).
    rules_date TEXT NOT NULL,
    note TEXT NOT NULL,
    drawn_at INTEGER NOT NULL,
    drawn_by INTEGER REFERENCES users (id),
    drawer_name TEXT NOT NULL
);
CREATE INDEX samples_campaign_id ON samples (campaign_id);
CREATE INDEX samples_org_id ON samples (org_id);
CREATE INDEX samples_scope ON samples (org_path);
CREATE INDEX samples_drawn_by ON samples (drawn_by);

CREATE TABLE sample_strata (
    sample_id INTEGER NOT NULL REFERENCES samples (id),
    -- The stratum's node (a province, city or firm organisation) and its path.
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_path TEXT NOT NULL,
    population INTEGER NOT NULL,
    size INTEGER NOT NULL,
    -- The frozen population: `member_id:weight:digest` (16 hex digits of the content digest)
    -- joined by commas, in member id order.
    frozen TEXT NOT NULL,
    PRIMARY KEY (sample_id, org_id)
);
CREATE INDEX sample_strata_org_id ON sample_strata (org_id);

CREATE TABLE sample_items (
    id INTEGER PRIMARY KEY NOT NULL,
    sample_id INTEGER NOT NULL REFERENCES samples (id),
    -- Order of drawing within the sample (strata in path order, then the draw order).
    position INTEGER NOT NULL,
    -- The stratum's node (the ancestor of the member's organisation at the sample's level)
    -- and the member: derived from the form, which the foreign key holds. Checked once by
    -- that key rather than three times: each check costs PostgreSQL some 15 µs a row, and a
    -- national sample is 20,000 rows.
    stratum_org_id INTEGER NOT NULL,
    member_id INTEGER NOT NULL,
    registration_id INTEGER NOT NULL REFERENCES registrations (id),
    -- The member's organisation path when drawn (scope of the item).
    org_path TEXT NOT NULL,
    weight INTEGER NOT NULL,
    -- Full SHA-256 content digest when drawn (service::review::digest).
    digest TEXT NOT NULL,
    -- The account the check is assigned to (of the drawing level or delegated lower).
    checker_id INTEGER REFERENCES users (id),
    checker_name TEXT,
    result TEXT CHECK (result IN ('true', 'false')),
    -- Field codes found false (JSON array) and the checker's note.
    false_fields TEXT,
    note TEXT,
    -- The content digest when checked: differs from `digest` when the record changed.
    checked_digest TEXT,
    checked_at INTEGER,
    checked_by INTEGER REFERENCES users (id),
    checked_name TEXT,
    version INTEGER NOT NULL,
    UNIQUE (sample_id, member_id)
);
CREATE INDEX sample_items_order ON sample_items (sample_id, position);
CREATE INDEX sample_items_stratum_org_id ON sample_items (stratum_org_id);
CREATE INDEX sample_items_member_id ON sample_items (member_id);
CREATE INDEX sample_items_registration_id ON sample_items (registration_id);
CREATE INDEX sample_items_checker_id ON sample_items (checker_id);
CREATE INDEX sample_items_checked_by ON sample_items (checked_by);

-- The forms ever returned (a risk mark of the draw): found without reading every decision.
CREATE INDEX registration_reviews_returns ON registration_reviews (registration_id)
    WHERE decision = 'return';

CREATE TABLE accountability (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    -- The node held to account and its path (the register's scope).
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_path TEXT NOT NULL,
    -- falsified (弄虚作假) / delay (工作拖沓)
    kind TEXT NOT NULL CHECK (kind IN ('falsified', 'delay')),
    -- What it came from: a finding, an overdue mark, an overdue case (one record each).
    source TEXT NOT NULL CHECK (source IN ('finding', 'overdue_mark', 'overdue_case')),
    sample_item_id INTEGER UNIQUE REFERENCES sample_items (id),
    overdue_mark_id INTEGER UNIQUE REFERENCES overdue_marks (id),
    case_id INTEGER UNIQUE REFERENCES cases (id),
    summary TEXT NOT NULL,
    -- The responsible people as named at the time: JSON [{"role":…,"name":…}].
    people TEXT NOT NULL,
    -- Links to the evidence: JSON [{"label":…,"link":…}].
    evidence TEXT NOT NULL,
    -- The handling decision (domain::sample::Handling), its note and date.
    decision TEXT CHECK (decision IN ('talk', 'circulate', 'educate', 'refer', 'none', 'other')),
    decision_note TEXT,
    decided_on TEXT,
    decided_at INTEGER,
    decided_by INTEGER REFERENCES users (id),
    decider_name TEXT,
    recorded_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX accountability_campaign_id ON accountability (campaign_id);
CREATE INDEX accountability_org_id ON accountability (org_id);
CREATE INDEX accountability_scope ON accountability (campaign_id, org_path);
CREATE INDEX accountability_decided_by ON accountability (decided_by);

-- The content digest of the approval an approved form stands on (service::review::digest),
-- kept on the form (store::reviews::insert sets it on approval and clears it on a return) so
-- that a national population reads it without one review lookup per form.
ALTER TABLE registrations ADD COLUMN approved_digest TEXT;
UPDATE registrations SET approved_digest = (SELECT v.digest FROM registration_reviews v
    WHERE v.registration_id = registrations.id AND v.decision = 'approve'
    ORDER BY v.id DESC LIMIT 1)
WHERE state = 'approved';
