"""Which file a CSV backfill may read: only a file inside the configured import folder.

The trigger form names the file relative to that folder (``customers.csv``, ``2026/export.csv``).
Anything that would reach outside it is refused before the file is opened: a parent reference
(``..``), an absolute path elsewhere, or a symbolic link (the file's or a folder's) leading out.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from qbo_crm_sync.errors import ConfigurationError


class UnsafePath(ConfigurationError):
    """The named file is not a readable file inside the import folder."""


def resolve_import(name: str, root: Path) -> Path:
    """The real path of ``name`` inside ``root``, or :class:`UnsafePath` saying why not."""
    text = (name or "").strip()
    if not text:
        raise UnsafePath("No CSV file named: give its path inside the import folder, e.g. customers.csv")
    if "\x00" in text:
        raise UnsafePath("The file name contains a NUL character")
    if ".." in PurePosixPath(text.replace("\\", "/")).parts:
        raise UnsafePath(f"{text!r} climbs out with '..': name a file inside the import folder {root}")
    base = root.resolve()
    if not base.is_dir():
        raise UnsafePath(f"The import folder {root} does not exist (setting SYNC_IMPORT_DIR)")
    candidate = Path(text)
    if not candidate.is_absolute():
        candidate = base / candidate
    try:
        real = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise UnsafePath(f"No file {text!r} in the import folder {base}; it holds: {_listing(base)}") from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, a permission problem
        raise UnsafePath(f"Cannot open {text!r}: {exc}") from None
    if not real.is_relative_to(base):
        how = "is a symbolic link leading" if candidate.is_symlink() or _link_on_the_way(candidate, base) else "lies"
        raise UnsafePath(f"{text!r} {how} outside the import folder {base}: only files inside it can be imported")
    if not real.is_file():
        raise UnsafePath(f"{text!r} is not a file")
    return real


def _link_on_the_way(path: Path, base: Path) -> bool:
    return any(p.is_symlink() for p in [path, *path.parents] if p != base and str(p).startswith(str(base)))


def _listing(base: Path, most: int = 10) -> str:
    names = sorted(str(p.relative_to(base)) for p in base.rglob("*.csv") if p.is_file())
    if not names:
        return "no .csv files"
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
