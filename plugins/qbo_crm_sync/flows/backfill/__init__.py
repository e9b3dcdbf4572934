"""Backfills: customers QuickBooks had before the integration was connected → CRM contacts.

After connecting, only new customers flow by themselves (flows/contacts). The older ones come
in by hand, from the Airflow UI, in one of two ways:

- ``contacts_csv_backfill`` (csv_import.py): a CSV in the import folder (paths.py): QuickBooks'
  own customer list export or a plain CSV (csv_reader.py), read in chunks into the contacts
  transform's flat columns with a stable id per row (csv_fields.py);
- ``qbo_customers_backfill`` (qbo_history.py): straight from QuickBooks through paged queries.

Both run the same loop (engine.py) over the contacts flow's own ``transform_customers`` and
``write_contacts``: one implementation of the checks, the matching against the CRM's contacts and
the tracking, under the backfill's own flow name. Re-running changes nothing already loaded (rows
are recognised by id and content), a dry run sends nothing to the CRM, the CRM's burst and daily
budgets are shared with the scheduled flows (budget.py), and a run stopped by the daily budget
resumes where it stopped (state.py). Rows not loaded land beside the run's report (report.py).
"""
