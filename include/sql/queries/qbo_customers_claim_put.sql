-- Claim emails for creation; an existing claim is kept as it is (first claim wins).
INSERT INTO sync.qbo_customer_claim (integration_id, email, display_name)
SELECT %(integration_id)s, u.email, u.display_name
FROM unnest(%(emails)s::text[], %(display_names)s::text[]) AS u (email, display_name)
ON CONFLICT (integration_id, email) DO NOTHING
