-- Mirror rows from QBO answers (query, CDC or a write's answer); an older version never wins.
INSERT INTO sync.qbo_customer_mirror AS m
       (integration_id, customer_id, email, display_name, active, sync_token, updated_at_source)
SELECT %(integration_id)s, u.customer_id, u.email, u.display_name, u.active, u.sync_token, u.updated_at_source
FROM unnest(%(customer_ids)s::text[], %(emails)s::text[], %(display_names)s::text[], %(actives)s::boolean[],
            %(sync_tokens)s::text[], %(updated)s::timestamptz[])
     AS u (customer_id, email, display_name, active, sync_token, updated_at_source)
ON CONFLICT (integration_id, customer_id) DO UPDATE
   SET email = excluded.email, display_name = excluded.display_name, active = excluded.active,
       sync_token = excluded.sync_token, updated_at_source = excluded.updated_at_source, mirrored_at = now()
 WHERE m.updated_at_source IS NULL OR excluded.updated_at_source IS NULL
    OR excluded.updated_at_source >= m.updated_at_source
