"""Ctrl-C during a study: stop at once while training, never inside bookkeeping.

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


class Interrupt:
    def __init__(self) -> None:
        self.requested = False
        self._training = False

    def _handle(self, signum, frame) -> None:
        if self._training or self.requested:
            self.requested = True
            raise KeyboardInterrupt
        self.requested = True

    @contextmanager
    def installed(self) -> Iterator["Interrupt"]:
        """Handle SIGINT for the duration (main thread only; elsewhere Python's default stays)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

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
