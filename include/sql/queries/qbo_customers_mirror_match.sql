-- The mirrored customer for each email: active ones first, then the oldest (lowest numeric Id).
SELECT DISTINCT ON (m.email) m.email, m.customer_id, m.active, m.sync_token, m.display_name
FROM sync.qbo_customer_mirror AS m
WHERE m.integration_id = %(integration_id)s AND m.email = ANY(%(emails)s::text[])
ORDER BY m.email, m.active DESC, length(m.customer_id), m.customer_id
