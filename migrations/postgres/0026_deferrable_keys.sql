-- Every foreign key becomes DEFERRABLE (INITIALLY IMMEDIATE: nothing changes for ordinary
-- transactions), so a whole-database copy (`dengji migrate-data`, `dengji restore` from an
-- SQLite backup) can insert tables whose keys point at each other (users ↔ members ↔
-- import batches, orgs ↔ import batches) and have the keys checked at commit with
-- `SET CONSTRAINTS ALL DEFERRED`. A migration adding a foreign key later must declare it
-- DEFERRABLE too (the copy test fails otherwise).
-- Keep in step with migrations/sqlite/0026_deferrable_keys.sql.

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
             WHERE contype = 'f' AND connamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER CONSTRAINT %I DEFERRABLE INITIALLY IMMEDIATE',
                       r.t, r.conname);
    END LOOP;
END $$;
