-- The CRM's refunded amount of receipted payments, as last seen (the CRM side of refunds).
UPDATE sync.receipt AS r
   SET crm_refunded = u.crm_refunded, run_id = %(run_id)s, updated_at = now()
  FROM unnest(%(source_ids)s::text[], %(amounts)s::numeric[]) AS u (source_id, crm_refunded)
 WHERE r.integration_id = %(integration_id)s AND r.source_id = u.source_id
