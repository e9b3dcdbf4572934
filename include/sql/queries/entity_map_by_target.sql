SELECT * FROM sync.entity_map
WHERE integration_id = %(integration_id)s AND target_type = %(target_type)s
  AND target_id = ANY(%(target_ids)s::text[])
