-- Account security (issue 17): a password set by someone else must be changed at the next
-- sign-in; sessions remember when they were last used (idle timeout) and where they were
-- opened from (the user's list of their own sessions).
-- Keep in step with migrations/sqlite/0019_account_security.sql.

ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN source TEXT;
