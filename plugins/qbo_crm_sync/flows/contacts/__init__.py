"""QBO customers → CRM contacts: extract → transform + validate → load → report.

Each step is ``step(job) -> counts`` (see flows/job.py) and leaves everything it learned in the
store, so the steps can run as separate Airflow tasks, be cleared and re-run in any order without
creating a contact twice or overwriting anyone:

- extract (extract.py): customers created after the integration was connected and changed since
  the watermark, paged from QBO's query endpoint into ``staging.qbo_customer``.
- transform (transform.py): staged rows not yet handled (or changed, or failed before) → contact
  fields (contacts_transform.py); Great Expectations rejects bad rows with reasons; echoes of
  customers the integration created, inactive customers and a second customer with an email (or
  phone) another customer already has are skipped; the rest is queued in ``sync.outbox``.
- load (load.py): the CRM location's contacts are mirrored (mirror.py); each queued customer is
  planned against them (plan.py) and written by a create or an update by id.
- report (report.py): the run's one-screen summary in the task log, and the run's final status.

**Who is who in the CRM** (plan.py has the details). A customer synced before updates the contact it
is mapped to, so a corrected email moves with it, unless another contact holds the new email (then
nothing changes and the row says which contact holds it). Otherwise a contact with the same email
is the same person; a contact with the same phone is the same person only when it has no other
email and no other name; anything else is another person, who is never overwritten: the customer
gets a contact of its own without the phone, and the row's reason names the phone's holder. Tags
are only ever added, and what the contact already holds (its email's spelling, its phone, its
source) is left as it is.

``transform_customers(job, rows)`` and ``write_contacts(job, items)`` take any batch of customers or
queued payloads, and ``sync_customers(job, rows)`` chains the two, for writers other than the
scheduled window (a backfill): the job's flow names the rows they record and the queue they use.
"""

from qbo_crm_sync.flows.contacts.extract import STAGING_TABLE, STREAM, customer_select, extract
from qbo_crm_sync.flows.contacts.load import load, sync_customers, write_contacts
from qbo_crm_sync.flows.contacts.names import FLOW
from qbo_crm_sync.flows.contacts.report import report
from qbo_crm_sync.flows.contacts.transform import transform, transform_customers

__all__ = ["FLOW", "STAGING_TABLE", "STREAM", "customer_select", "extract", "load", "report", "sync_customers",
           "transform", "transform_customers", "write_contacts"]
