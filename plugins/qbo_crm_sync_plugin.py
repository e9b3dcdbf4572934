"""Airflow plugin entry point: registers the QB Connect page. All logic lives in qbo_crm_sync."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class QboCrmSyncPlugin(AirflowPlugin):
    name = "qbo_crm_sync"
