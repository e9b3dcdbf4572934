"""What a backfill run leaves for people: a report (Markdown and JSON) and, beside it, the rows
that were not loaded with the reason for each (``rejected.csv``), ready to fix and import again.

A run's folder is ``<import folder>/reports/<dag id>/<dag run id>/``. The rejected rows' file holds
the original cells under the original header, then ``status`` and ``reason``, and for a CSV the
``line`` each row came from; extra columns are ignored when the file is imported again.

A paused backfill resumes in the same run folder (a deferred task going on, a retry), so the file
is appended to, and rows it already holds are not written again (see ``RunReport``).
"""

from __future__ import annotations

import csv
import hashlib
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
    """The run's ``rejected.csv``, kept across the parts of one run.

    Rows rejected before a pause are not seen again on resume, so the file is appended to, never
    rewritten. A chunk can still be processed twice (a crash after its rows were written but before
    its position was saved): such rows are recognised by their cells and status, which name the row
    (a CSV row carries its line number, a QuickBooks row its id) and what became of it; the reason
    is left out as it is worded differently the second time ("unchanged since an earlier import").
    Keys of the rows already in the file are read once when the report opens.
    """

    def __init__(self, folder: Path, header: list[str]) -> None:
        self.folder = folder
        self.header = header
        self.rejected_rows = 0  # rows in the file, earlier parts of the run included
        self._written: set[bytes] = set()
        self._handle: IO[str] | None = None
        self._writer: Any = None
        self._read_earlier()

    @property
    def rejected_path(self) -> Path:
        return self.folder / "rejected.csv"

    def reject(self, cells: list[str], status: str, reason: str) -> None:
        padded = list(cells) + [""] * max(len(self.header) - len(cells), 0)
        row = [*padded[:len(self.header)], status]
        key = _key(row)
        if key in self._written:
            return
        if self._writer is None:
            self._open()
        self._writer.writerow([*row, reason])
        self._written.add(key)
        self.rejected_rows += 1

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._handle = self.rejected_path.open("a", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle)
        if self._handle.tell() == 0:  # a new or empty file: the header, once
            self._writer.writerow([*self.header, "status", "reason"])

    def _read_earlier(self) -> None:
        path = self.rejected_path
        if not path.is_file():
            return
        _drop_partial_line(path)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle)
            next(rows, None)  # the header
            for row in rows:
                if row:
                    self._written.add(_key(row[:-1]))
                    self.rejected_rows += 1

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

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


def _key(row: list[str]) -> bytes:
    return hashlib.blake2b("\x1f".join(row).encode(), digest_size=16).digest()


def _drop_partial_line(path: Path) -> None:
    """Cut a last row left unfinished by a killed task (rows end in a line break; the writer is
    flushed after each saved chunk, so what was cut belongs to a chunk that is read again)."""
    with path.open("rb+") as handle:
        end = handle.seek(0, 2)
        if end == 0:
            return
        handle.seek(end - 1)
        if handle.read(1) == b"\n":
            return
        cut = end
        while cut > 0:
            start = max(cut - 65536, 0)
            handle.seek(start)
            found = handle.read(cut - start).rfind(b"\n")
            if found >= 0:
                handle.truncate(start + found + 1)
                return
            cut = start
        handle.truncate(0)
