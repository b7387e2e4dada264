-- Review decisions on registrations: approvals (审核盖章, with who, when and a digest of exactly
-- the content approved) and returns (with a reason and the content as it was, so the reviewer
-- sees what changed on resubmission). Keep in step with migrations/postgres/0005_reviews.sql.

CREATE TABLE registration_reviews (
    id INTEGER PRIMARY KEY NOT NULL,
    registration_id INTEGER NOT NULL REFERENCES registrations (id),
    org_path TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason_code TEXT,
    note TEXT,
    reviewer_id INTEGER REFERENCES users (id),
    reviewer_name TEXT NOT NULL,
    reviewer_role TEXT NOT NULL,
    digest TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX registration_reviews_registration_id ON registration_reviews (registration_id, id);
CREATE INDEX registration_reviews_reviewer_id ON registration_reviews (reviewer_id);
CREATE INDEX registration_reviews_org_path ON registration_reviews (org_path);
