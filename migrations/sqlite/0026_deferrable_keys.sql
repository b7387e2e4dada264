-- Nothing to change on SQLite: a whole-database copy defers every foreign key check to the
-- commit with `PRAGMA defer_foreign_keys = ON`. PostgreSQL makes its keys DEFERRABLE here.
-- Keep in step with migrations/postgres/0026_deferrable_keys.sql.
SELECT 1;
