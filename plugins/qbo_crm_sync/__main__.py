from qbo_crm_sync.cli import main

raise SystemExit(main())
