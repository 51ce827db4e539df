"""Storage URLs: how messages show them (password masked) and what is refused before anything runs."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from ..errors import UserError

SQLITE_HEADER = b"SQLite format 3\x00"
EXAMPLE_URLS = "e.g. sqlite:///dse.db or postgresql+psycopg://user:pw@host/db"


def shown(url: str) -> str:
    """A storage URL as every message prints it: as typed, the password masked (``user:***@host``)."""
    try:
        parsed = sa.engine.make_url(url)
        return url if parsed.password is None else parsed.render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", str(url))


def check_storage(url: str) -> None:
    """Refuse, before anything runs, a URL that is not one, an in-memory SQLite database (every
    trained design would be lost at exit) and an SQLite file that is not a database."""
    try:
        parsed = sa.engine.make_url(url)
        parsed.get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise UserError(f"--storage {shown(url)}: not a valid SQLAlchemy URL ({exc}); {EXAMPLE_URLS}") from None
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory" or "mode=memory" in database:
        raise UserError(f"--storage {shown(url)}: an in-memory database loses every trained design at exit; "
                        f"give a file, e.g. sqlite:///dse.db")
    problem = _sqlite_file_problem(Path(database)) if not database.startswith("file:") else None
    if problem:
        raise UserError(f"--storage {shown(url)}: not an SQLite database ({problem})")


def _sqlite_file_problem(path: Path) -> str | None:
    """What is wrong with an existing, non-empty file as an SQLite database: its header, or a
    size below the pages the header declares (a truncated copy); None when it looks whole.

    A database another process is writing (a ``-journal`` or ``-wal`` file beside it) is not judged
    by its size: SQLite writes page 1, which holds the page count, before the pages that extend the
    file, so a worker starting beside one creating the study could see it "truncated". A size
    mismatch seen with no such file is read again before it is called truncation (a commit may have
    finished, and deleted its journal, in between).
    """
    for _ in range(2):
        try:
            if not path.is_file() or (size := path.stat().st_size) == 0:
                return None  # absent or empty: SQLite makes a new database there
            with path.open("rb") as f:
                header = f.read(100)
        except OSError:
            return None  # the driver says why it cannot open it
        if len(header) < 100 or not header.startswith(SQLITE_HEADER):
            return f"{path} does not start with the SQLite header"
        page_size = int.from_bytes(header[16:18], "big") or 1
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big") if header[92:96] == header[24:28] else 0  # 0: count not valid
        if size >= pages * page_size or any(Path(f"{path}{s}").exists() for s in ("-journal", "-wal")):
            return None
    return f"{path} is truncated: {size} bytes, its header declares {pages} pages of {page_size}"


def open_error(url: str, exc: sa.exc.DBAPIError) -> UserError:
    """The one line for a database the driver cannot open: its first line of reason, no SQL text."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else exc.__class__.__name__
    garbage = url.startswith("sqlite") and type(exc) is sa.exc.DatabaseError  # "file is not a database"
    return UserError(f"--storage {shown(url)}: {'not an SQLite database' if garbage else 'cannot open the database'}"
                     f" ({reason})")
