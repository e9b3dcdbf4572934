UPDATE sync.qbo_customer_claim
   SET customer_id = %(customer_id)s, display_name = coalesce(%(display_name)s, display_name), updated_at = now()
 WHERE integration_id = %(integration_id)s AND email = %(email)s
