-- Payment steps by their PaymentRefNum.
SELECT * FROM sync.invoice_payment
WHERE integration_id = %(integration_id)s AND ref_num = ANY(%(ref_nums)s::text[])
