-- Session advisory lock on a name: serialises work that must not run twice at once.
SELECT pg_advisory_lock(hashtextextended(%(name)s, 0))
