-- Mirror rows from CRM answers (a search page or a write's answer), parallel arrays; tags come as
-- one text per contact, separated by the unit separator. An older version of a contact never
-- overwrites a newer one (the search index can trail a write's answer), but it still counts as a
-- sighting: seen_at moves either way. (A comparison with a NULL date is NULL: the new row wins.)
INSERT INTO sync.crm_contact_mirror AS m
       (integration_id, contact_id, email, phone, phone_digits, first_name, last_name, tags,
        date_added, date_updated, seen_at)
SELECT %(integration_id)s, u.contact_id, u.email, u.phone, u.phone_digits, u.first_name, u.last_name,
       COALESCE(string_to_array(NULLIF(u.tags, ''), chr(31)), '{}'), u.date_added, u.date_updated, %(seen_at)s
FROM unnest(%(contact_ids)s::text[], %(emails)s::text[], %(phones)s::text[], %(phone_digits)s::text[],
            %(first_names)s::text[], %(last_names)s::text[], %(tags)s::text[],
            %(dates_added)s::timestamptz[], %(dates_updated)s::timestamptz[])
     AS u (contact_id, email, phone, phone_digits, first_name, last_name, tags, date_added, date_updated)
ON CONFLICT (integration_id, contact_id) DO UPDATE SET
    email        = CASE WHEN excluded.date_updated < m.date_updated THEN m.email ELSE excluded.email END,
    phone        = CASE WHEN excluded.date_updated < m.date_updated THEN m.phone ELSE excluded.phone END,
    phone_digits = CASE WHEN excluded.date_updated < m.date_updated THEN m.phone_digits ELSE excluded.phone_digits END,
    first_name   = CASE WHEN excluded.date_updated < m.date_updated THEN m.first_name ELSE excluded.first_name END,
    last_name    = CASE WHEN excluded.date_updated < m.date_updated THEN m.last_name ELSE excluded.last_name END,
    tags         = CASE WHEN excluded.date_updated < m.date_updated THEN m.tags ELSE excluded.tags END,
    date_updated = CASE WHEN excluded.date_updated < m.date_updated THEN m.date_updated ELSE excluded.date_updated END,
    date_added   = COALESCE(m.date_added, excluded.date_added),
    seen_at      = GREATEST(m.seen_at, excluded.seen_at)
