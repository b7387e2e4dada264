-- 摸底核查: per member and campaign, the four check points, whether the membership has been
-- transferred in, and for those not transferred the reason and the 分类处理 case.
-- Keep in step with migrations/postgres/0003_survey.sql.

CREATE TABLE survey_checks (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    member_id INTEGER NOT NULL REFERENCES members (id),
    org_path TEXT NOT NULL,
    basic_ok INTEGER NOT NULL,
    transfer_ok INTEGER NOT NULL,
    dues_ok INTEGER NOT NULL,
    life_ok INTEGER NOT NULL,
    transferred TEXT NOT NULL,
    case_code TEXT,
    reason TEXT,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    UNIQUE (campaign_id, member_id)
);
CREATE INDEX survey_checks_member_id ON survey_checks (member_id);
CREATE INDEX survey_checks_org_path ON survey_checks (org_path);
CREATE INDEX survey_checks_updated_by ON survey_checks (updated_by);
