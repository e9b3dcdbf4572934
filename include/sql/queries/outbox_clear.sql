-- Empty one flow's queue (a dry run's, which is never loaded).
DELETE FROM sync.outbox WHERE integration_id = %(integration_id)s AND flow = %(flow)s
