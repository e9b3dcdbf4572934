-- Progress of a backfill, written after each chunk is safely recorded.
UPDATE sync.backfill SET
    status = %(status)s,
    status_reason = %(status_reason)s,
    rows_done = %(rows_done)s,
    position = %(position)s,
    counts = %(counts)s,
    crm_requests = %(crm_requests)s,
    eta = %(eta)s,
    resume_at = %(resume_at)s,
    updated_at = now()
WHERE id = %(id)s
RETURNING *
