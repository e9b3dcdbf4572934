"""``python -m bench``: every benchmark scenario (contacts, receipts, invoices; ``--only NAME`` runs
one); see bench/harness.py and bench/REPORT.md."""

from bench.harness import main

raise SystemExit(main())
