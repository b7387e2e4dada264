-- Second factor (issue 17): a TOTP secret per account (encrypted with the data key), the
-- last step accepted (a code works once), a secret being set up, single-use recovery codes
-- (hashed), and the short-lived tickets between the password and the code at sign-in.
-- Keep in step with migrations/postgres/0020_second_factor.sql.

ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_pending BLOB;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE login_tickets (
    ticket_hash TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL
);

CREATE INDEX login_tickets_user_id ON login_tickets (user_id);
