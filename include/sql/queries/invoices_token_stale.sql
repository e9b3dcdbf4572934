-- A payment applied to (or removed from) these invoices moved their SyncToken in QBO: forget the one
-- held, so the next update or void reads the current one first.
UPDATE sync.entity_map SET sync_token = NULL, updated_at = now()
WHERE integration_id = %(integration_id)s AND source_type = 'invoice' AND target_type = 'invoice'
  AND source_id = ANY(%(source_ids)s::text[])
