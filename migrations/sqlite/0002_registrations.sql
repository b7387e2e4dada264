-- Registrations (附件1/附件2 as filed by or for a member) and one-time activation codes.
-- Keep in step with migrations/postgres/0002_registrations.sql.

CREATE TABLE registrations (
    id INTEGER PRIMARY KEY NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    member_id INTEGER NOT NULL REFERENCES members (id),
    org_path TEXT NOT NULL,
    form_code TEXT NOT NULL,
    -- Field values as a JSON object; never holds the citizen ID number.
    data TEXT NOT NULL,
    -- A corrected citizen ID number typed into the form, encrypted, and its masked form.
    citizen_id_enc BLOB,
    citizen_id_masked TEXT,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    confirmed_at INTEGER,
    -- How the member confirmed a form a clerk filled for them (phone, sms, wechat, paper).
    proxy_method TEXT,
    warnings_note TEXT,
    return_reason TEXT,
    submitted_at INTEGER,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    UNIQUE (campaign_id, member_id)
);
CREATE INDEX registrations_member_id ON registrations (member_id);
CREATE INDEX registrations_org_path ON registrations (org_path, state);
CREATE INDEX registrations_updated_by ON registrations (updated_by);

CREATE TABLE activation_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_by INTEGER REFERENCES users (id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX activation_codes_user_id ON activation_codes (user_id);
CREATE INDEX activation_codes_created_by ON activation_codes (created_by);
