-- Mirror rows from CRM answers (a search page or a write's answer), parallel arrays; tags come as
-- one text per contact, separated by the unit separator. An older version of a contact never
-- overwrites a newer one (a row left alone was written more recently, so it was seen more recently).
INSERT INTO sync.crm_contact_mirror AS m
       (integration_id, contact_id, email, phone, phone_digits, first_name, last_name, tags,
        date_added, date_updated, seen_at)
SELECT %(integration_id)s, u.contact_id, u.email, u.phone, u.phone_digits, u.first_name, u.last_name,
       COALESCE(string_to_array(NULLIF(u.tags, ''), chr(31)), '{}'), u.date_added, u.date_updated, %(seen_at)s
FROM unnest(%(contact_ids)s::text[], %(emails)s::text[], %(phones)s::text[], %(phone_digits)s::text[],
            %(first_names)s::text[], %(last_names)s::text[], %(tags)s::text[],
            %(dates_added)s::timestamptz[], %(dates_updated)s::timestamptz[])
     AS u (contact_id, email, phone, phone_digits, first_name, last_name, tags, date_added, date_updated)
ON CONFLICT (integration_id, contact_id) DO UPDATE
   SET email = excluded.email, phone = excluded.phone, phone_digits = excluded.phone_digits,
       first_name = excluded.first_name, last_name = excluded.last_name, tags = excluded.tags,
       date_added = COALESCE(m.date_added, excluded.date_added), date_updated = excluded.date_updated,
       seen_at = excluded.seen_at
 WHERE m.date_updated IS NULL OR excluded.date_updated IS NULL OR excluded.date_updated >= m.date_updated
