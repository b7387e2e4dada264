-- Campaigns made by the national administrator: the date every time rule is judged at (by
-- default the cut-off date), and when the campaign was closed (open while empty).
-- Keep in step with migrations/postgres/0012_campaign_lifecycle.sql.

ALTER TABLE campaigns ADD COLUMN reference_date TEXT;
ALTER TABLE campaigns ADD COLUMN closed_at INTEGER;
