-- The read log writes many events per transaction and finds their ids by their place in the
-- chain (issue 17). Not unique: a duplicated place is what `dengji audit verify` reports.
-- Keep in step with migrations/postgres/0022_audit_seq_index.sql.

CREATE INDEX audit_events_seq ON audit_events (seq);
