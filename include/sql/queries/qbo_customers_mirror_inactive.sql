-- Which of these customers the mirror holds as inactive, with the SyncToken a reactivation needs.
SELECT customer_id, sync_token
FROM sync.qbo_customer_mirror
WHERE integration_id = %(integration_id)s AND customer_id = ANY(%(customer_ids)s::text[]) AND NOT active
