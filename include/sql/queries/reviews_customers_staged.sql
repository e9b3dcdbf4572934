-- QBO customers the contacts flow has staged, by id: what the contact is written from.
SELECT source_id, raw, payload_hash, created_at_source FROM staging.qbo_customer
WHERE integration_id = %(integration_id)s AND source_id = ANY(%(source_ids)s::text[])
