-- A create QBO answered with a fault: nothing was created, the next attempt gets a new requestid.
UPDATE sync.qbo_customer_claim
   SET tries = tries + 1, display_name = coalesce(%(display_name)s, display_name), updated_at = now()
 WHERE integration_id = %(integration_id)s AND email = %(email)s
