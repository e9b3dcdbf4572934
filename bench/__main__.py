"""``python -m bench``: every benchmark scenario; see bench/harness.py and bench/REPORT.md."""

from bench.harness import main

raise SystemExit(main())
