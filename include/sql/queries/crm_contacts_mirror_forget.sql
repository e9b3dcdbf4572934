-- Contacts gone from the CRM: the ids named (a write answered "not found"), or, after a full
-- listing, every contact that listing (or a write since it began) did not show.
DELETE FROM sync.crm_contact_mirror
WHERE integration_id = %(integration_id)s
  AND (contact_id = ANY(%(contact_ids)s::text[]) OR seen_at < %(unseen_since)s::timestamptz)
