-- Review fixes: login and activation failures counted per username (known or not, so the
-- answers cannot tell which accounts exist) and per source address, each with its own lock;
-- each user's nationwide duplicate lookups per day (a dry run checks every ID number of a
-- file against the whole country); uploads waiting for a decision keep the dry run's report.
-- Keep in step with migrations/postgres/0011_throttle_and_uploads.sql.

CREATE TABLE login_throttle (
    -- pw:<username> (password), act:<username> (activation code), addr:<address>
    key TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    window_started BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE lookup_usage (
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- Beijing date, YYYY-MM-DD
    day TEXT NOT NULL,
    rows_looked_up BIGINT NOT NULL,
    PRIMARY KEY (user_id, day)
);

ALTER TABLE import_uploads ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE import_uploads ADD COLUMN file_sha256 TEXT NOT NULL DEFAULT '';
-- The dry run's report, encrypted like the file (its messages may quote cell values).
ALTER TABLE import_uploads ADD COLUMN report_enc BLOB;
