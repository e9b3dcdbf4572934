DELETE FROM sync.outbox
WHERE integration_id = %(integration_id)s AND flow = %(flow)s AND source_id = ANY(%(source_ids)s::text[])
