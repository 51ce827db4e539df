"""The command line: every command documented, output formats, exit codes."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from dse.cli import cli, main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_and_is_in_the_readme(name: str) -> None:
    command = cli.commands[name]
    assert command.help and len(command.help) > 20
    assert f"`dse {name}" in README
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


from tests.conftest import invoke  # noqa: E402


def test_run_query_report_studies_and_rescore(workdir, tiny_spec, capsys) -> None:
    spec = tiny_spec(n_trials=2)
    name = spec.stem
    code, out, err = invoke(capsys, ["run", str(spec), "--quiet"])
    assert code == 0 and f"report: reports/{name}.html" in out and "Pareto-optimal designs" in err
    assert (workdir / "dse.db").exists() and (workdir / "reports" / f"{name}.html").exists()

    for args, check in [
        (["query", name, "--format", "json"], lambda o: len(json.loads(o)) == 2),
        (["query", name, "--format", "csv"], lambda o: o.splitlines()[0].startswith("trial,status,state,")),
        (["query", name], lambda o: re.search(r"^\s*trial\s+status\s+state", o, re.M)),
        (["studies", "--format", "json"], lambda o: json.loads(o)[0]["trained"] == 2),
        (["models", "--format", "json"], lambda o: {"memory_bits", "bit_synops", "energy_45nm_j"}
         <= {r["metric"] for r in json.loads(o)}),
        (["models", "--format", "json"], lambda o: {r["metric"]: r["note"] for r in json.loads(o)}
         ["energy_rtx2080ti_j"].startswith("GeForce RTX 2080 Ti: 4352 cores")),
    ]:
        code, out, _ = invoke(capsys, args)
        assert code == 0 and check(out), args


def test_rescore_replaces_metrics_from_the_stored_profiles(workdir, tiny_spec, capsys) -> None:
    import hwmodels
    from dse.store import Store

    spec = tiny_spec(n_trials=2)
    assert invoke(capsys, ["run", str(spec), "--quiet"])[0] == 0
    code, _, err = invoke(capsys, ["rescore", spec.stem, "--option", "sparse_format=csr"])
    assert code == 0 and "rescored 4 design point(s)" in err
    rows = json.loads(invoke(capsys, ["query", spec.stem, "--format", "json"])[1])
    profiles = {n: p for (n, v), p in Store("sqlite:///dse.db").profiles(spec.stem).items() if v == ""}
    for row in rows:
        expected = hwmodels.evaluate(profiles[row["trial"]], "memory", sparse_format="csr")["memory_bits"]
        assert row["memory_bits"] == expected


@pytest.mark.parametrize("args, message", [
    (["query", "nope"], "error: --storage sqlite:///dse.db: no database at dse.db; run a study there first"),
    (["select", "nope", "--mu", "0.5"], "error: --storage sqlite:///dse.db: no database at dse.db"),
    (["studies", "--storage", "sqlite:///typo.db"], "error: --storage sqlite:///typo.db: no database at typo.db"),
    (["report", "nope", "--storage", "mysql+nodriver://x"], "error: --storage mysql+nodriver://x: not a valid"),
    (["rescore", "nope", "--option", "x"], "error: --option x: expected KEY=VALUE"),
    (["run", "missing.toml"], "error: missing.toml: no such file"),
])
def test_bad_input_is_one_line_and_exit_2(workdir, capsys, args, message) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and err.startswith(message) and "\n" not in err
    assert not list(workdir.glob("*.db")), "bad input writes nothing"


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["query"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_run_reaches_the_first_trial_without_the_heavy_imports(tmp_path) -> None:
    """`dse run` defers torch to the trial's training, pandas and plotly to the report, and
    loads digits without scikit-learn: none of them is loaded when the first trial starts."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = ("import os, sys\n"
            "import dse.study.objective as objective\n"
            "def first(self, trial):\n"
            "    print([m for m in ('torch', 'sklearn', 'scipy', 'pandas', 'plotly') if m in sys.modules])\n"
            "    sys.stdout.flush()\n"
            "    os._exit(0)\n"
            "objective.Objective.__call__ = first\n"
            "from dse.cli import main\n"
            f"main(['run', {str(root / 'studies' / 'quickstart.toml')!r}, '--quiet', '--n-trials', '1',\n"
            f"      '--storage', {'sqlite:///' + str(tmp_path / 'x.db')!r}])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0 and result.stdout.strip() == "[]", (result.stdout, result.stderr)
