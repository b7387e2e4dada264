-- The workflow states a form and a package may be in (domain::workflow): anything else is
-- refused by the database itself.
-- Keep in step with migrations/sqlite/0014_state_checks.sql.

ALTER TABLE registrations ADD CONSTRAINT registrations_state_check
    CHECK (state IN ('draft', 'submitted', 'returned', 'approved'));
ALTER TABLE packages ADD CONSTRAINT packages_state_check
    CHECK (state IN ('submitted', 'accepted', 'returned'));
