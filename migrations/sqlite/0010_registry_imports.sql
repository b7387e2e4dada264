-- Firms (律师事务所名册) and party organisations (党组织名册) brought in by an import batch, so
-- the batch can be undone while nothing hangs under them. An organisation batch also records
-- which firms it placed under its new organisations (`firms.org_batch_id`), to put them back.
-- Keep in step with migrations/postgres/0010_registry_imports.sql.

ALTER TABLE orgs ADD COLUMN import_batch_id INTEGER REFERENCES import_batches (id);
CREATE INDEX orgs_import_batch_id ON orgs (import_batch_id);

ALTER TABLE firms ADD COLUMN import_batch_id INTEGER REFERENCES import_batches (id);
CREATE INDEX firms_import_batch_id ON firms (import_batch_id);

ALTER TABLE firms ADD COLUMN org_batch_id INTEGER REFERENCES import_batches (id);
CREATE INDEX firms_org_batch_id ON firms (org_batch_id);
