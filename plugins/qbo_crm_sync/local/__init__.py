"""The local stack: embedded PostgreSQL, the two emulators and Airflow, for the demo and `make up`."""
