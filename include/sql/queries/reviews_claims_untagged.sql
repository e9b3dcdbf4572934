-- Review requests that went out but whose contact was not tagged yet (the tag request failed).
SELECT * FROM sync.review_request
WHERE integration_id = %(integration_id)s AND state = 'sent' AND NOT tagged
ORDER BY settled_at
