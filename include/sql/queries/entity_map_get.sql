SELECT * FROM sync.entity_map
WHERE integration_id = %(integration_id)s AND source_type = %(source_type)s
  AND target_type = %(target_type)s AND source_id = ANY(%(source_ids)s::text[])
