-- Foundation schema (SQLite). Keep in step with migrations/postgres/0001_foundation.sql:
-- same tables, columns and index names. Dates are ISO 'YYYY-MM-DD' text, instants are unix
-- seconds, flags are 0/1 integers, so one query text serves both databases.

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE divisions (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    level INTEGER NOT NULL,
    parent_code TEXT
);
CREATE INDEX divisions_parent_code ON divisions (parent_code);

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    cutoff_date TEXT NOT NULL,
    deadline_firm TEXT NOT NULL,
    deadline_city TEXT NOT NULL,
    deadline_province TEXT NOT NULL,
    deadline_national TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE orgs (
    id INTEGER PRIMARY KEY NOT NULL,
    parent_id INTEGER REFERENCES orgs (id),
    path TEXT NOT NULL UNIQUE,
    depth INTEGER NOT NULL,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    region_code TEXT REFERENCES divisions (code),
    secretary_name TEXT,
    contact_phone TEXT,
    formed_on TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX orgs_parent_id ON orgs (parent_id, name);
CREATE INDEX orgs_region_code ON orgs (region_code);

CREATE TABLE firms (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    region_code TEXT NOT NULL REFERENCES divisions (code),
    city_org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_id INTEGER REFERENCES orgs (id),
    scope_path TEXT NOT NULL,
    form TEXT NOT NULL,
    lawyer_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX firms_scope_path ON firms (scope_path, name);
CREATE INDEX firms_city_org_id ON firms (city_org_id);
CREATE INDEX firms_org_id ON firms (org_id);
CREATE INDEX firms_region_code ON firms (region_code);

CREATE TABLE members (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    sex TEXT NOT NULL,
    ethnicity TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    citizen_id_enc BLOB NOT NULL,
    citizen_id_index TEXT NOT NULL UNIQUE,
    citizen_id_masked TEXT NOT NULL,
    category TEXT NOT NULL,
    practice_type TEXT,
    licence_no TEXT UNIQUE,
    education TEXT NOT NULL,
    party_status TEXT NOT NULL,
    joined_on TEXT NOT NULL,
    full_member_on TEXT,
    mobile TEXT NOT NULL,
    firm_id INTEGER NOT NULL REFERENCES firms (id),
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_path TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX members_org_path ON members (org_path, name);
CREATE INDEX members_firm_id ON members (firm_id);
CREATE INDEX members_org_id ON members (org_id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    member_id INTEGER REFERENCES members (id),
    disabled INTEGER NOT NULL,
    failed_logins INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX users_org_id ON users (org_id);
CREATE INDEX users_member_id ON users (member_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Append-only: the services insert, nothing updates or deletes.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY NOT NULL,
    at INTEGER NOT NULL,
    actor_user_id INTEGER,
    actor_username TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_org_id INTEGER,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_path TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_target_path ON audit_events (target_path, id);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
