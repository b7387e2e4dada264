-- What an import wrote beside its records, so the batch can be undone and the users can tell
-- imported values from confirmed ones: the 附件3 drafts filled from an organisation roster,
-- and the 摸底核查 marks prefilled from a member list (to be confirmed by the organisation:
-- confirming clears the batch).
-- Keep in step with migrations/postgres/0013_imported_drafts.sql.

ALTER TABLE org_registrations ADD COLUMN import_batch_id INTEGER REFERENCES import_batches (id);
ALTER TABLE survey_checks ADD COLUMN import_batch_id INTEGER REFERENCES import_batches (id);
CREATE INDEX org_registrations_import_batch_id ON org_registrations (import_batch_id);
CREATE INDEX survey_checks_import_batch_id ON survey_checks (import_batch_id);
