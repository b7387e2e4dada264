-- The exchange with the 全国律师综合管理系统 (notice §三(五)3, issue 19): snapshots of the
-- licensing roster (lawyers and firms) as the national committee loads them, never mixed with
-- our own records, and the notes that explain a reconciliation line (kept across snapshots).
-- A snapshot is written in chunks while `ready = 0` and is invisible until the last
-- transaction sets it ready together with its audit event; a failed load deletes its rows.
-- Keep in step with migrations/postgres/0031_licensing.sql.

CREATE TABLE licence_snapshots (
    id INTEGER PRIMARY KEY NOT NULL,
    -- The day the roster describes (数据日期), as the loader states it.
    as_of TEXT NOT NULL,
    -- The files' names and SHA-256 digests, as loaded.
    source TEXT NOT NULL,
    digest TEXT NOT NULL,
    lawyers INTEGER NOT NULL,
    firms INTEGER NOT NULL,
    ready INTEGER NOT NULL,
    loaded_by INTEGER REFERENCES users (id),
    loaded_at INTEGER NOT NULL
);
CREATE INDEX licence_snapshots_ready ON licence_snapshots (ready, id);
CREATE INDEX licence_snapshots_loaded_by ON licence_snapshots (loaded_by);

-- One lawyer of a snapshot. ID numbers are encrypted and indexed exactly like members'.
-- `scope_path` is the node the lawyer's firm belongs to: the registry firm's scope when the
-- firm is ours, else the city-level node of the firm's 行政区划 (resolved when loaded).
CREATE TABLE licence_lawyers (
    snapshot_id INTEGER NOT NULL REFERENCES licence_snapshots (id),
    row_no INTEGER NOT NULL,
    licence_no TEXT NOT NULL,
    citizen_id_index TEXT NOT NULL,
    citizen_id_enc BLOB NOT NULL,
    citizen_id_masked TEXT NOT NULL,
    name TEXT NOT NULL,
    firm_code TEXT NOT NULL,
    firm_name TEXT NOT NULL,
    practice_type TEXT NOT NULL,
    status TEXT NOT NULL,
    status_on TEXT,
    firm_since TEXT,
    first_licensed_on TEXT,
    political TEXT,
    scope_path TEXT NOT NULL
);
CREATE UNIQUE INDEX licence_lawyers_licence ON licence_lawyers (snapshot_id, licence_no);
CREATE INDEX licence_lawyers_citizen ON licence_lawyers (snapshot_id, citizen_id_index);
CREATE INDEX licence_lawyers_scope ON licence_lawyers (snapshot_id, scope_path);

CREATE TABLE licence_firms (
    snapshot_id INTEGER NOT NULL REFERENCES licence_snapshots (id),
    row_no INTEGER NOT NULL,
    credit_code TEXT NOT NULL,
    name TEXT NOT NULL,
    region_code TEXT,
    status TEXT NOT NULL,
    scope_path TEXT NOT NULL
);
CREATE UNIQUE INDEX licence_firms_code ON licence_firms (snapshot_id, credit_code);
CREATE INDEX licence_firms_scope ON licence_firms (snapshot_id, scope_path);

-- 已说明: a reconciliation line explained with a note; the newest note of a line is shown
-- on every later snapshot too. `subject` is a licence number, a credit code or a member id.
CREATE TABLE reconciliation_notes (
    id INTEGER PRIMARY KEY NOT NULL,
    category TEXT NOT NULL,
    subject TEXT NOT NULL,
    scope_path TEXT NOT NULL,
    note TEXT NOT NULL,
    snapshot_id INTEGER NOT NULL REFERENCES licence_snapshots (id),
    created_by INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX reconciliation_notes_subject ON reconciliation_notes (category, subject, id);
CREATE INDEX reconciliation_notes_snapshot ON reconciliation_notes (snapshot_id);
CREATE INDEX reconciliation_notes_created_by ON reconciliation_notes (created_by);

-- The reconciliation's classified lines per snapshot (every category but 一致), and the
-- matched lawyers counted per organisation path, stored so that the pages read a few tens of
-- thousands of rows instead of joining a million members to the roster on every request.
-- Refreshed per subtree: when a snapshot loads, hourly per province, and on 重新核对.
-- `reconciliation_refreshes` says when each subtree was last refreshed.
CREATE TABLE reconciliation_lines (
    snapshot_id INTEGER NOT NULL REFERENCES licence_snapshots (id),
    category TEXT NOT NULL,
    subject TEXT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX reconciliation_lines_path ON reconciliation_lines (snapshot_id, path, category);
CREATE INDEX reconciliation_lines_category ON reconciliation_lines (snapshot_id, category, path, name);

CREATE TABLE reconciliation_matched (
    snapshot_id INTEGER NOT NULL REFERENCES licence_snapshots (id),
    path TEXT NOT NULL,
    n INTEGER NOT NULL
);
CREATE INDEX reconciliation_matched_path ON reconciliation_matched (snapshot_id, path);

CREATE TABLE reconciliation_refreshes (
    snapshot_id INTEGER NOT NULL REFERENCES licence_snapshots (id),
    path TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX reconciliation_refreshes_path ON reconciliation_refreshes (snapshot_id, path);
