-- Queue (or refresh) payloads for loading; parallel arrays, one row per source id.
INSERT INTO sync.outbox AS o (integration_id, flow, source_id, payload, payload_hash, match_key, run_id)
SELECT %(integration_id)s::bigint, %(flow)s::text, i.source_id, i.payload, i.payload_hash, i.match_key,
       %(run_id)s::bigint
FROM unnest(%(source_ids)s::text[], %(payloads)s::jsonb[], %(payload_hashes)s::text[], %(match_keys)s::text[])
     AS i(source_id, payload, payload_hash, match_key)
ON CONFLICT (integration_id, flow, source_id) DO UPDATE SET
    payload = EXCLUDED.payload,
    payload_hash = EXCLUDED.payload_hash,
    match_key = EXCLUDED.match_key,
    run_id = EXCLUDED.run_id,
    queued_at = now()
