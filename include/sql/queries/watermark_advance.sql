-- Moves forward only (unless forced). A state given with an older value is ignored with it: the
-- state belongs to the value it was recorded at. A NULL state keeps the stored one.
INSERT INTO sync.watermark AS w (integration_id, stream, value, state)
VALUES (%(integration_id)s, %(stream)s, %(value)s, COALESCE(%(state)s, '{}'::jsonb))
ON CONFLICT (integration_id, stream) DO UPDATE SET
    value = CASE WHEN %(force)s OR w.value IS NULL OR EXCLUDED.value >= w.value
                 THEN EXCLUDED.value ELSE w.value END,
    state = CASE WHEN %(state)s::jsonb IS NOT NULL
                      AND (%(force)s OR w.value IS NULL OR EXCLUDED.value >= w.value)
                 THEN %(state)s::jsonb ELSE w.state END,
    updated_at = now()
RETURNING value, state, updated_at
