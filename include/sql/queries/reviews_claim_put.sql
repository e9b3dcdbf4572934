-- Claim the customer's one review request before sending it: a new row, or a row whose earlier
-- request provably did not go out (not_sent). Answers nothing when the customer's request is
-- sent, undelivered or in doubt: then nothing may be sent.
INSERT INTO sync.review_request AS r
       (integration_id, customer_id, payment_id, invoice_id, state, contact_id, channel, address, marker,
        claimed_run_id)
VALUES (%(integration_id)s, %(customer_id)s, %(payment_id)s, %(invoice_id)s, 'sending', %(contact_id)s,
        %(channel)s, %(address)s, %(marker)s, %(run_id)s)
ON CONFLICT (integration_id, customer_id) DO UPDATE
   SET payment_id = excluded.payment_id, invoice_id = excluded.invoice_id, state = 'sending',
       contact_id = excluded.contact_id, channel = excluded.channel, address = excluded.address,
       marker = excluded.marker, sends = r.sends + 1, message_id = NULL, conversation_id = NULL,
       reason = NULL, claimed_at = clock_timestamp(), claimed_run_id = excluded.claimed_run_id,
       settled_at = NULL
 WHERE r.state = 'not_sent'
RETURNING *
