-- Who disconnected, and when, is kept while the integration stays disconnected.
UPDATE sync.integration
SET status = %(status)s, status_reason = %(reason)s, updated_at = now(),
    disconnected_by = CASE WHEN %(status)s = 'disconnected' THEN %(by)s::text END,
    disconnected_at = CASE WHEN %(status)s = 'disconnected' THEN now() END
WHERE id = %(id)s
RETURNING *
