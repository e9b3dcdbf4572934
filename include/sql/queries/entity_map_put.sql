-- A NULL payload_hash or sync_token keeps the stored one, unless the target itself changed.
INSERT INTO sync.entity_map AS em
    (integration_id, source_system, source_type, source_id, target_system, target_type, target_id,
     payload_hash, sync_token)
SELECT * FROM unnest(%(integration_ids)s::bigint[], %(source_systems)s::text[], %(source_types)s::text[],
                     %(source_ids)s::text[], %(target_systems)s::text[], %(target_types)s::text[],
                     %(target_ids)s::text[], %(payload_hashes)s::text[], %(sync_tokens)s::text[])
ON CONFLICT (integration_id, source_type, source_id, target_type) DO UPDATE SET
    source_system = EXCLUDED.source_system,
    target_system = EXCLUDED.target_system,
    target_id = EXCLUDED.target_id,
    payload_hash = CASE WHEN em.target_id = EXCLUDED.target_id
                        THEN COALESCE(EXCLUDED.payload_hash, em.payload_hash) ELSE EXCLUDED.payload_hash END,
    sync_token = CASE WHEN em.target_id = EXCLUDED.target_id
                      THEN COALESCE(EXCLUDED.sync_token, em.sync_token) ELSE EXCLUDED.sync_token END,
    updated_at = now()
