-- The mirrored contacts that hold one of these emails or phones (E.164 or digits), or have one of
-- these ids, oldest first (the order in which HighLevel's duplicate rule finds them).
SELECT contact_id, email, phone, phone_digits, first_name, last_name, tags, date_added, date_updated
FROM sync.crm_contact_mirror
WHERE integration_id = %(integration_id)s
  AND (email = ANY(%(emails)s::text[]) OR phone = ANY(%(phones)s::text[])
       OR phone_digits = ANY(%(phone_digits)s::text[]) OR contact_id = ANY(%(contact_ids)s::text[]))
ORDER BY date_added NULLS LAST, contact_id
