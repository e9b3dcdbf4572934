SELECT source_id, raw
FROM staging.crm_order
WHERE integration_id = %(integration_id)s AND source_id = ANY(%(order_ids)s::text[])
