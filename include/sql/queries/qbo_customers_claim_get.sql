SELECT email, display_name, customer_id, tries
FROM sync.qbo_customer_claim
WHERE integration_id = %(integration_id)s AND email = ANY(%(emails)s::text[])
