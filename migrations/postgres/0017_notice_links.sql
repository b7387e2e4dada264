-- Notices resolved by what they point at: a form's "待审核" notices are marked read once the
-- form is approved or returned, found by their link.
-- Keep in step with migrations/sqlite/0017_notice_links.sql.

CREATE INDEX notifications_link ON notifications (link, kind);
