-- 附件3 as filed by each organisation in a campaign.
-- Keep in step with migrations/postgres/0004_org_registrations.sql.

CREATE TABLE org_registrations (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    data TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    UNIQUE (campaign_id, org_id)
);
CREATE INDEX org_registrations_org_id ON org_registrations (org_id);
CREATE INDEX org_registrations_updated_by ON org_registrations (updated_by);
