-- The integration's review requests by state and channel.
SELECT state, channel, count(*) AS n FROM sync.review_request
WHERE integration_id = %(integration_id)s
GROUP BY state, channel ORDER BY state, channel
