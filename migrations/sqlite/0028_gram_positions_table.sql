-- Faster batch writes of the name grams (issue 20 item 5). Keep in step with
-- migrations/postgres/0028_gram_positions_table.sql.
--
-- Migration 0027's `gram_positions` was a view over a recursive CTE: SQLite recomputes it for
-- every member row it is joined with, and a join on it cannot use an index, so generating a
-- 100,000-member import batch's grams took 4.2 s. A table of 1..100 keyed by the position
-- lets `k <= length(name)` read a range of its rowids (0.2 s). The triggers of 0027 name it
-- and need no change.
DROP VIEW gram_positions;

CREATE TABLE gram_positions (k INTEGER PRIMARY KEY);

WITH RECURSIVE p(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM p WHERE k < 100)
INSERT INTO gram_positions (k) SELECT k FROM p;
