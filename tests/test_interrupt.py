"""Ctrl-C on a running `dse run`: exit 130, one clear line, every finished trial kept."""

import signal
import subprocess
import sys
import time

import optuna


def test_sigint_stops_cleanly_and_keeps_finished_trials(tiny_spec, tmp_path) -> None:
    spec = tiny_spec(n_trials=200)
    url = f"sqlite:///{tmp_path / 'i.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "dse", "run", str(spec), "--storage", url, "--quiet"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    complete = 0
    while time.time() < deadline and complete < 2:
        time.sleep(0.5)
        try:
            study = optuna.load_study(study_name=spec.stem, storage=url)
            complete = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
        except Exception:  # the study (or its tables) not created yet
            complete = 0
        assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted:" in err and "run the same command again to continue" in err
    trials = optuna.load_study(study_name=spec.stem, storage=url).get_trials()
    states = [t.state for t in trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) >= 2
    assert optuna.trial.TrialState.RUNNING not in states  # the interrupted trial is closed, not left running
    assert (tmp_path / "reports" / f"{spec.stem}.html").exists()  # the report of what finished


def test_a_signal_outside_training_waits_for_the_trial_to_be_recorded() -> None:
    import os

    import pytest

    from dse.interrupt import Interrupt

    before = signal.getsignal(signal.SIGINT)  # Python's handler, or SIG_IGN in a job started with `&`
    interrupt = Interrupt()
    with interrupt.installed():
        os.kill(os.getpid(), signal.SIGINT)  # in bookkeeping: noted, not raised
        assert interrupt.requested
        with pytest.raises(KeyboardInterrupt):  # no new training starts
            with interrupt.training():
                pass
    fresh = Interrupt()
    with fresh.installed():
        with pytest.raises(KeyboardInterrupt):  # inside training: at once
            with fresh.training():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_a_signal_in_bookkeeping_inside_training_is_raised_when_it_ends() -> None:
    import os

    import pytest

    from dse.interrupt import Interrupt

    interrupt = Interrupt()
    steps = []
    with interrupt.installed():
        with pytest.raises(KeyboardInterrupt):
            with interrupt.training():
                with interrupt.bookkeeping():  # e.g. trial.report: must finish
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.2)
                    steps.append("recorded")
                steps.append("trained on")  # never: the noted Ctrl-C is raised on leaving
    assert steps == ["recorded"] and interrupt.requested
