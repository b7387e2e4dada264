-- The workflow states a form and a package may be in (domain::workflow): anything else is
-- refused by the database itself. SQLite cannot add a CHECK to an existing table, so triggers
-- stand in for it.
-- Keep in step with migrations/postgres/0014_state_checks.sql.

CREATE TRIGGER registrations_state_check_insert BEFORE INSERT ON registrations
WHEN NEW.state NOT IN ('draft', 'submitted', 'returned', 'approved') BEGIN
    SELECT RAISE(ABORT, 'registrations.state: unknown state');
END;
CREATE TRIGGER registrations_state_check_update BEFORE UPDATE OF state ON registrations
WHEN NEW.state NOT IN ('draft', 'submitted', 'returned', 'approved') BEGIN
    SELECT RAISE(ABORT, 'registrations.state: unknown state');
END;
CREATE TRIGGER packages_state_check_insert BEFORE INSERT ON packages
WHEN NEW.state NOT IN ('submitted', 'accepted', 'returned') BEGIN
    SELECT RAISE(ABORT, 'packages.state: unknown state');
END;
CREATE TRIGGER packages_state_check_update BEFORE UPDATE OF state ON packages
WHEN NEW.state NOT IN ('submitted', 'accepted', 'returned') BEGIN
    SELECT RAISE(ABORT, 'packages.state: unknown state');
END;
