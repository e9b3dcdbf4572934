-- One statement for the whole batch. A row whose payload_hash is unchanged is left untouched
-- (the WHERE makes ON CONFLICT skip it), so it is neither rewritten nor re-stamped.
-- xmax = 0 marks a freshly inserted row version; an updated one carries the updating xid.
WITH merged AS (
    INSERT INTO {table} AS t ({columns})
    SELECT {columns} FROM {input}
    ON CONFLICT ({key}) DO UPDATE SET ({updates}) = ROW({excluded}), staged_at = now()
    WHERE t.payload_hash IS DISTINCT FROM EXCLUDED.payload_hash
    RETURNING (t.xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
FROM merged
