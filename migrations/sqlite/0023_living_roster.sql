-- The living roster (issue 16): what the directory looked like on any past date, and the
-- 组织关系 transfers between organisations. Each member, firm and organisation row carries the
-- date its current version began (`placed_on`; NULL: since the records began); every version
-- a change ends (a transfer, an edit of a firm or an organisation, a firm closed) is kept in
-- `roster_history` with the dates it held, so the roster on a date is the current rows placed
-- by then plus the history rows that held on it.
-- Keep in step with migrations/postgres/0023_living_roster.sql.

ALTER TABLE members ADD COLUMN placed_on TEXT;
ALTER TABLE firms ADD COLUMN placed_on TEXT;
ALTER TABLE orgs ADD COLUMN placed_on TEXT;
-- An organisation dissolved (撤销, or merged into another) keeps its row for the records
-- that name it; from this date it has no members, firms or children and no list shows it.
ALTER TABLE orgs ADD COLUMN dissolved_on TEXT;

-- What is on record when the migration runs has been there since the first campaign's cut-off.
UPDATE members SET placed_on = (SELECT MIN(cutoff_date) FROM campaigns);
UPDATE firms SET placed_on = (SELECT MIN(cutoff_date) FROM campaigns);
UPDATE orgs SET placed_on = (SELECT MIN(cutoff_date) FROM campaigns);

-- One ended version of a member's placement, a firm or an organisation. No foreign keys: a
-- closed firm's last version outlives its row.
CREATE TABLE roster_history (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('member', 'firm', 'org')),
    record_id INTEGER NOT NULL,
    -- where the version sat in the tree: the member's org_path, the firm's scope_path, the
    -- organisation's path
    path TEXT NOT NULL,
    from_date TEXT,
    -- the day the next version began (the version held on days before it)
    to_date TEXT NOT NULL,
    name TEXT NOT NULL,
    -- where, in words, as it was: the member's firm, the firm's organisation, the
    -- organisation's parent
    place TEXT NOT NULL,
    -- member: lawyer/staff; firm: own/joint/none; org: its kind
    category TEXT NOT NULL,
    -- member: full/probationary; firm: its 组织形式; org: its level
    status TEXT NOT NULL,
    -- member: their organisation; firm: the organisation covering it
    org_id INTEGER,
    -- member: their firm
    firm_id INTEGER,
    -- the rest of the version as JSON (firm: credit code, region, lawyers; org: secretary …)
    detail TEXT NOT NULL,
    -- what ended the version: transfer, edit, move, close
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX roster_history_path ON roster_history (kind, path, to_date);
CREATE INDEX roster_history_record ON roster_history (kind, record_id, id);

-- 组织关系转接: a member moving from one organisation (and firm) to another, started by the
-- sending side, accepted or refused by the receiving side; seen by both and by the lowest
-- common ancestor (`common_path`).
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY NOT NULL,
    member_id INTEGER NOT NULL REFERENCES members (id),
    member_name TEXT NOT NULL,
    from_org_id INTEGER NOT NULL REFERENCES orgs (id),
    from_firm_id INTEGER NOT NULL,
    from_firm_name TEXT NOT NULL,
    from_path TEXT NOT NULL,
    to_org_id INTEGER NOT NULL REFERENCES orgs (id),
    to_firm_id INTEGER NOT NULL,
    to_firm_name TEXT NOT NULL,
    to_path TEXT NOT NULL,
    common_path TEXT NOT NULL,
    reason TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'refused', 'cancelled')),
    started_name TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    decided_name TEXT,
    decided_at INTEGER,
    decision_note TEXT NOT NULL
);
CREATE UNIQUE INDEX transfers_one_pending ON transfers (member_id) WHERE state = 'pending';
CREATE INDEX transfers_member_id ON transfers (member_id, id);
CREATE INDEX transfers_from_org_id ON transfers (from_org_id);
CREATE INDEX transfers_to_org_id ON transfers (to_org_id);
CREATE INDEX transfers_from_path ON transfers (from_path);
CREATE INDEX transfers_to_path ON transfers (to_path);
CREATE INDEX transfers_common_path ON transfers (common_path);
