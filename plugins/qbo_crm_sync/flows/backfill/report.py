"""What a backfill run leaves for people: a report (Markdown and JSON) and, beside it, the rows
that were not loaded with the reason for each (``rejected.csv``), ready to fix and import again.

A run's folder is ``<import folder>/reports/<dag id>/<dag run id>/``. The rejected rows' file holds
the original cells under the original header, then ``status`` and ``reason``, and for a CSV the
``line`` each row came from; extra columns are ignored when the file is imported again.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import IO, Any

from qbo_crm_sync import config
from qbo_crm_sync.flows.job import Job


def run_folder(job: Job) -> Path:
    dag = _safe(job.ctx.dag_id or "manual")
    run = _safe(job.ctx.dag_run_id or f"run-{job.run_id}")
    return config.import_dir() / "reports" / dag / run


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("._") or "run"


class RunReport:
    def __init__(self, folder: Path, header: list[str]) -> None:
        self.folder = folder
        self.header = header
        self.rejected_rows = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None

    @property
    def rejected_path(self) -> Path:
        return self.folder / "rejected.csv"

    def reject(self, cells: list[str], status: str, reason: str) -> None:
        if self._writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._handle = self.rejected_path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow([*self.header, "status", "reason"])
        padded = list(cells) + [""] * max(len(self.header) - len(cells), 0)
        self._writer.writerow([*padded[:len(self.header)], status, reason])
        self.rejected_rows += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle, self._writer = None, None

    def write(self, summary: dict[str, Any], text: str) -> Path:
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        path = self.folder / "report.md"
        path.write_text(text + "\n", encoding="utf-8")
        return path
