"""Several `dse worker` processes share one study through one storage."""

import subprocess
import sys

import optuna

from dse.query import query


def test_two_workers_share_one_study(storage_url, tiny_spec, tmp_path) -> None:
    spec = tiny_spec(n_trials=6)
    command = [sys.executable, "-m", "dse", "worker", str(spec), "--storage", storage_url, "--quiet"]
    workers = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    study = optuna.load_study(study_name=spec.stem, storage=storage_url)
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    # both took part, and together they stopped at n_trials (at most one extra in flight each)
    assert 6 <= len(complete) <= 7 and len(trials) == len(complete)
    frame = query(spec.stem, storage_url)
    assert frame["memory_bits"].notna().all() and len(frame) == len(trials)
    assert not (tmp_path / "reports").exists()  # workers leave the report to `dse report`
