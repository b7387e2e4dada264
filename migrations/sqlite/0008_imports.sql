-- Imports: every import of a spreadsheet is a recorded batch (who, when, file, counts) that can
-- be undone while nothing depends on it; uploads waiting for the user's decision after the dry
-- run are kept encrypted until imported, discarded or expired.
-- Keep in step with migrations/postgres/0008_imports.sql.

CREATE TABLE import_batches (
    id INTEGER PRIMARY KEY NOT NULL,
    -- lawyers (附件1 rows) / staff (附件2 rows)
    kind TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    org_path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    -- all (all or nothing) / valid (only the rows without errors)
    mode TEXT NOT NULL,
    rows_total INTEGER NOT NULL,
    rows_imported INTEGER NOT NULL,
    rows_skipped INTEGER NOT NULL,
    warnings INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_by_name TEXT NOT NULL,
    undone_at INTEGER,
    undone_by INTEGER REFERENCES users (id)
);
CREATE INDEX import_batches_org_path ON import_batches (org_path, id);
CREATE INDEX import_batches_org_id ON import_batches (org_id);
CREATE INDEX import_batches_created_by ON import_batches (created_by);
CREATE INDEX import_batches_undone_by ON import_batches (undone_by);

ALTER TABLE members ADD COLUMN import_batch_id INTEGER REFERENCES import_batches (id);
CREATE INDEX members_import_batch_id ON members (import_batch_id);

CREATE TABLE import_uploads (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER REFERENCES users (id),
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    file_name TEXT NOT NULL,
    -- The file as uploaded, encrypted with the data key (it holds ID numbers).
    content_enc BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX import_uploads_user_id ON import_uploads (user_id);
CREATE INDEX import_uploads_org_id ON import_uploads (org_id);
