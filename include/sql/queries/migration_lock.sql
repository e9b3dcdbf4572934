-- Serialises concurrent migrators; released at commit or rollback. The key is arbitrary but fixed.
SELECT pg_advisory_xact_lock(7263510948123001)
