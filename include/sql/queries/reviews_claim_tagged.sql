-- The contact of a sent review request carries the review-requested tag.
UPDATE sync.review_request SET tagged = true
WHERE integration_id = %(integration_id)s AND customer_id = %(customer_id)s
