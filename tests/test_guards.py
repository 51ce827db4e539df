"""Bad input refused before anything runs: one line naming the option or file, exit 2, nothing written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dse.cli import main  # noqa: F401
from tests.conftest import invoke


def run_cli(capsys, args: list[str]) -> tuple[int, list[str]]:
    """`dse ARGS` in-process: (exit code, stderr lines)."""
    code, _, err = invoke(capsys, args)
    return code, err.strip().splitlines()


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("error")]


# ---- storage -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"])
def test_in_memory_storage_is_refused_before_anything_runs(workdir, tiny_spec, capsys, url) -> None:
    spec = tiny_spec()
    code, lines = run_cli(capsys, ["run", str(spec), "--quiet", "--storage", url])
    assert code == 2 and lines == [f"error: --storage {url}: an in-memory database loses every trained design "
                                   f"at exit; give a file, e.g. sqlite:///dse.db"]
    assert sorted(p.name for p in workdir.iterdir()) == [spec.name]


def sqlite_file(path: Path, rows: int = 2000) -> bytes:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)")
        conn.executemany("INSERT INTO t (text) VALUES (?)", [("x" * 100,)] * rows)
    conn.close()
    return path.read_bytes()


def test_a_file_that_is_not_an_sqlite_database_is_one_line(workdir, tiny_spec, capsys) -> None:
    spec, db = tiny_spec(), workdir / "x.db"
    db.write_bytes(b"garbage bytes, not a database\n" * 10)
    expected = "error: --storage sqlite:///x.db: not an SQLite database (x.db does not start with the SQLite header)"
    for args in (["run", str(spec), "--quiet"], ["query", "s"], ["studies"]):
        code, lines = run_cli(capsys, [*args, "--storage", "sqlite:///x.db"])
        assert code == 2 and lines == [expected], args
    assert db.read_bytes() == b"garbage bytes, not a database\n" * 10
    assert sorted(p.name for p in workdir.iterdir()) == [spec.name, "x.db"]


def test_a_truncated_or_corrupt_sqlite_file_is_one_line_without_sql(workdir, tiny_spec, capsys) -> None:
    spec, db = tiny_spec(), workdir / "x.db"
    whole = sqlite_file(db)
    pages = int.from_bytes(whole[28:32], "big")
    db.write_bytes(whole[:8192])
    code, lines = run_cli(capsys, ["run", str(spec), "--quiet", "--storage", "sqlite:///x.db"])
    assert code == 2 and lines == [f"error: --storage sqlite:///x.db: not an SQLite database "
                                   f"(x.db is truncated: 8192 bytes, its header declares {pages} pages of 4096)"]
    db.write_bytes(whole[:100] + b"\xa5" * (len(whole) - 100))  # the header intact, every page garbage
    code, lines = run_cli(capsys, ["query", "s", "--storage", "sqlite:///x.db"])
    assert code == 2 and lines == ["error: --storage sqlite:///x.db: not an SQLite database "
                                   "(database disk image is malformed)"]


def test_a_database_being_written_is_not_called_truncated(workdir) -> None:
    """SQLite writes page 1 (the page count) before the pages that extend the file: a worker starting
    beside one creating the study must not refuse it while a journal or write-ahead log is beside it."""
    from dse.store.url import _sqlite_file_problem

    db = workdir / "x.db"
    whole = sqlite_file(db)
    db.write_bytes(whole[:8192])
    assert "is truncated: 8192 bytes" in _sqlite_file_problem(db)
    for suffix in ("-journal", "-wal"):
        beside = workdir / f"x.db{suffix}"
        beside.write_bytes(b"")
        assert _sqlite_file_problem(db) is None
        beside.unlink()


def test_a_password_is_masked_in_every_line(workdir, tiny_spec, capsys) -> None:
    spec = tiny_spec(n_trials=1)
    url, masked = "postgresql+psycopg://dse:s3cret@127.0.0.1:1/dse", "postgresql+psycopg://dse:***@127.0.0.1:1/dse"
    code, lines = run_cli(capsys, ["run", str(spec), "--quiet", "--storage", url])
    assert code == 2 and lines[0].endswith(f"; storage {masked}")
    assert errors(lines) == [lines[-1]]
    assert lines[-1].startswith(f"error: --storage {masked}: cannot open the database (")
    for args in (["query", "s", "--storage", url], ["studies", "--storage", url],
                 ["report", "s", "--storage", "mysql+nodriver://dse:s3cret@host/db"]):
        code, lines = run_cli(capsys, args)
        assert code == 2 and len(lines) == 1 and "***" in lines[0] and "s3cret" not in lines[0], args
    assert "s3cret" not in "".join(lines)


def test_shown_masks_a_password_even_in_an_unparsable_url() -> None:
    from dse.store import shown

    assert shown("postgresql+psycopg://u:pw@h:5432/db") == "postgresql+psycopg://u:***@h:5432/db"
    assert shown("postgresql://u:pw@h:port/db") == "postgresql://u:***@h:port/db"
    assert shown("sqlite:///dse.db") == "sqlite:///dse.db"


# ---- study names ---------------------------------------------------------------------------------

RESERVED = ("is a device name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9), so no report file can "
            "take it; choose another")


@pytest.mark.parametrize("name, message", [
    (".hidden", "expected letters, digits, '-', '_' or '.', starting with a letter or digit, got \".hidden\""),
    ("a/b", "expected letters, digits, '-', '_' or '.', starting with a letter or digit, got \"a/b\""),
    ("x" * 129, "expected at most 128 characters, got 129"),
    ("con", f"\"con\" {RESERVED}"),
    ("Nul.v2", f"\"Nul.v2\" {RESERVED}"),
    ("LPT9", f"\"LPT9\" {RESERVED}"),
])
def test_study_names_a_database_or_file_system_rejects(workdir, capsys, name, message) -> None:
    spec = workdir / "s.toml"
    spec.write_text(f'[study]\nname = "{name}"\nengine = "surrogate"\n[objectives]\naccuracy = "maximize"\n')
    code, lines = run_cli(capsys, ["run", str(spec), "--quiet"])
    assert code == 2 and lines == [f"error: {spec}: [study].name: {message}"]
    assert sorted(p.name for p in workdir.iterdir()) == ["s.toml"]


@pytest.mark.parametrize("name", ["x" * 128, "console", "com10", "a.con", "v1.2-b_3"])
def test_study_names_at_the_limits_are_valid(name) -> None:
    from dse.spec import parse_spec

    assert parse_spec({"study": {"name": name, "engine": "surrogate"},
                       "objectives": {"accuracy": "maximize"}}).name == name


# ---- --device ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["run", "worker"])
@pytest.mark.parametrize("device", ["banana", "gpu", "cuda:", "cuda:-1", "CPU"])
def test_an_unknown_device_names_the_valid_ones(workdir, tiny_spec, capsys, command, device) -> None:
    spec = tiny_spec()
    code, lines = run_cli(capsys, [command, str(spec), "--quiet", "--device", device])
    assert code == 2 and lines == [f"error: --device {device}: expected cpu, cuda, cuda:N (N = 0, 1, ...) or auto"]
    assert sorted(p.name for p in workdir.iterdir()) == [spec.name]


@pytest.mark.parametrize("count, device, message", [
    (0, "cuda", "no CUDA device: torch finds none on this machine; use cpu or auto"),
    (0, "cuda:0", "no CUDA device: torch finds none on this machine; use cpu or auto"),
    (1, "cuda:1", "no CUDA device: this machine has 1 (cuda:0); use cpu, auto or one of those"),
    (2, "cuda:7", "no CUDA device: this machine has 2 (cuda:0, cuda:1); use cpu, auto or one of those"),
])
def test_a_missing_cuda_device_is_refused_before_the_database(workdir, tiny_spec, capsys, monkeypatch,
                                                              count, device, message) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    spec = tiny_spec()
    for command in ("run", "worker"):
        code, lines = run_cli(capsys, [command, str(spec), "--quiet", "--device", device])
        assert code == 2 and lines == [f"error: --device {device}: {message}"]
    assert sorted(p.name for p in workdir.iterdir()) == [spec.name], "the database is not touched"


# ---- designs too large to train ------------------------------------------------------------------

def gib(n: int) -> str:
    return f"{n:,} bytes ({n / 2**30:.3g} GiB)"


def test_a_space_whose_largest_design_exceeds_max_param_bytes_is_refused(workdir, capsys) -> None:
    spec = workdir / "big.toml"
    spec.write_text('[study]\nname = "big"\nengine = "surrogate"\nn_trials = 1\n[objectives]\n'
                    'accuracy = "maximize"\n[space]\nhidden = { choices = [[16], [128, 128]] }\n'
                    'timesteps = { low = 2, high = 4 }\n[train]\nmax_param_bytes = 100000\n')
    found = 4 * (64 * 128 + 128 * 128 + 128 * 10)  # digits: 64 inputs, 10 classes; float32 weights
    code, lines = run_cli(capsys, ["run", str(spec), "--quiet"])
    assert code == 2 and errors(lines) == [
        f"error: {spec}: [space]: the largest design (surrogate: hidden=[128, 128], timesteps=2) holds {gib(found)} "
        f"of parameters (float32 while training), more than [train].max_param_bytes = {gib(100000)}; shrink [space] "
        f"or raise the limit"]
    assert sorted(p.name for p in workdir.iterdir()) == [spec.name], "refused before the database"
    spec.write_text(spec.read_text().replace("100000", str(found)))
    from dse.study import check_feasible
    from dse.spec import load_spec

    check_feasible(load_spec(spec))  # at the limit: accepted


def test_the_default_limit_is_half_the_ram_and_stops_a_huge_design_at_once(workdir, capsys) -> None:
    import os
    import time

    from dse.spec import load_spec

    half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    spec = workdir / "huge.toml"
    hidden = [65536] * 64  # 64 layers of 65536: 1.1 TB of float32 weights, far above half of any RAM
    spec.write_text(f'[study]\nname = "huge"\nengine = "surrogate"\nn_trials = 1\n[objectives]\n'
                    f'accuracy = "maximize"\n[space]\nhidden = {{ choices = [{hidden}] }}\n')
    loaded = load_spec(spec)
    assert loaded.max_param_bytes == half and "max_param_bytes" not in loaded.train  # not in fingerprints
    found = 4 * (64 * 65536 + 63 * 65536 * 65536 + 65536 * 10)
    start = time.monotonic()
    code, lines = run_cli(capsys, ["run", str(spec), "--quiet"])
    assert code == 2 and time.monotonic() - start < 10
    assert errors(lines) == [
        f"error: {spec}: [space]: the largest design (surrogate: hidden={hidden}) holds {gib(found)} of parameters "
        f"(float32 while training), more than [train].max_param_bytes = {gib(half)}; shrink [space] or raise the limit"]
    assert sorted(p.name for p in workdir.iterdir()) == ["huge.toml"]


# ---- huge spec files -----------------------------------------------------------------------------

def test_a_50_mb_spec_is_refused_at_once_without_parsing(workdir, capsys) -> None:
    import time

    spec = workdir / "huge.toml"
    with spec.open("wb") as f:  # sparse: a TOML header, then 50 MB that would take minutes to parse
        f.write(b'[study]\nname = "huge"\nengine = "surrogate"\n[space]\nhidden = { choices = [')
        f.truncate(50 * 2**20)
    start = time.monotonic()
    code, lines = run_cli(capsys, ["run", str(spec), "--quiet"])
    assert code == 2 and time.monotonic() - start < 2
    assert lines == [f"error: {spec}: 52428800 bytes is too large for a study spec (at most 1000000)"]
    assert sorted(p.name for p in workdir.iterdir()) == ["huge.toml"]
