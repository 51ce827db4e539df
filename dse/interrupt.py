"""Ctrl-C or SIGTERM during a study: stop at once while training, never inside bookkeeping.

A KeyboardInterrupt raised while Optuna records a trial, or while a trial's
rows are written, can leave the trial half-recorded (Optuna then fails on its
own "Should not reach" assertion). So, while a study runs, SIGINT is handled
here: inside training (:meth:`Interrupt.training`) it raises KeyboardInterrupt
at once, and the running trial fails alone; anywhere else it is only noted,
and the study stops as soon as the current trial is recorded. A second Ctrl-C
always raises at once.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Ctrl-C, and what docker stop, systemd, SLURM and timeout send: handled alike."""


class Interrupt:
    def __init__(self) -> None:
        self.requested = False
        self.signal: int | None = None
        """The signal that stopped the study (SIGINT or SIGTERM), once one did."""
        self._training = False

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal else "SIGINT"

    @property
    def exit_code(self) -> int:
        """128 + the signal: 130 after Ctrl-C, 143 after SIGTERM."""
        return 128 + (self.signal or signal.SIGINT)

    def _handle(self, signum, frame) -> None:
        self.signal = self.signal or signum
        if self._training or self.requested:
            self.requested = True
            raise KeyboardInterrupt
        self.requested = True

    @contextmanager
    def installed(self) -> Iterator["Interrupt"]:
        """Handle SIGINT and SIGTERM for the duration (main thread only; elsewhere Python's
        defaults stay)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @contextmanager
    def training(self) -> Iterator[None]:
        """The stretch where Ctrl-C may stop work at once."""
        if self.requested:
            raise KeyboardInterrupt
        self._training = True
        try:
            yield
        finally:
            self._training = False

    @contextmanager
    def bookkeeping(self) -> Iterator[None]:
        """A stretch inside training that must not be cut (Optuna's intermediate values):
        a Ctrl-C arriving here is noted and raised as soon as it ends."""
        was_training, self._training = self._training, False
        try:
            yield
        finally:
            self._training = was_training
        if was_training and self.requested:
            raise KeyboardInterrupt
