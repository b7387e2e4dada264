-- Faster batch writes of the name grams (issue 20 item 5). Keep in step with
-- migrations/sqlite/0028_gram_positions_table.sql: `gram_positions` becomes a table of 1..100
-- on both databases (SQLite could not index a join on the view). The trigger functions of 0027
-- name it and need no change.
DROP VIEW gram_positions;

CREATE TABLE gram_positions (k INTEGER PRIMARY KEY);

INSERT INTO gram_positions (k) SELECT k FROM generate_series(1, 100) AS k;
