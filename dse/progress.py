"""Progress on stderr: a bar over trials and one over the running trial's epochs
on a terminal; one line per finished trial elsewhere (logs, CI)."""

from __future__ import annotations

import sys

import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm


def short(value: float) -> str:
    return f"{value:.3f}" if 1e-3 <= abs(value) < 10 or value == 0 else f"{value:.3g}"


class Progress:
    def __init__(self, total: int, done: int, enabled: bool = True,
                 objectives: tuple[tuple[str, str], ...] = ()) -> None:
        self.enabled = enabled
        self.bars = enabled and sys.stderr.isatty()
        self.total = total
        self.done = done
        self.objectives = [m for m, _ in objectives]
        self.trials = tqdm(total=total, initial=done, desc="trials", unit="trial", file=sys.stderr,
                           disable=not self.bars, dynamic_ncols=True, position=0)
        self.epochs: tqdm | None = None

    def start_trial(self, number: int, epochs: int) -> None:
        self._close_epochs()
        if self.bars:
            self.epochs = tqdm(total=epochs, desc=f"  trial {number}", unit="epoch", file=sys.stderr,
                               leave=False, dynamic_ncols=True, position=1)

    def epoch(self, step: int, accuracy: float) -> None:
        if self.epochs is not None:
            self.epochs.set_postfix_str(f"val acc {accuracy:.3f}", refresh=False)
            self.epochs.update(1)

    def summary(self, trial: optuna.trial.FrozenTrial) -> str:
        if trial.state == TrialState.COMPLETE and trial.values:
            return ", ".join(f"{m} {short(v)}" for m, v in zip(self.objectives, trial.values))
        reason = trial.user_attrs.get("fail_reason") or trial.user_attrs.get("infeasible") or ""
        return f"{trial.state.name.lower()}{': ' + reason if reason else ''}"

    def callback(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self._close_epochs()
        self.done += 1
        if self.bars:
            self.trials.set_postfix_str(f"#{trial.number}: {self.summary(trial)}", refresh=False)
            self.trials.update(1)
        elif self.enabled:
            seconds = trial.duration.total_seconds() if trial.duration else 0.0
            print(f"trial {trial.number} [{self.done}/{self.total}] {self.summary(trial)} ({seconds:.1f} s)",
                  file=sys.stderr, flush=True)

    def _close_epochs(self) -> None:
        if self.epochs is not None:
            self.epochs.close()
            self.epochs = None

    def close(self) -> None:
        self._close_epochs()
        self.trials.close()
