"""Words while a command works: a line per stage, a progress bar per long step.

Everything goes to stdout (errors keep stderr). On a terminal a long step shows Keras'
own progress bar (`keras.utils.Progbar`); anywhere else (a log file, a pipe) it prints
one plain line per update, at most every `LOG_INTERVAL` seconds, and the last one.

Example:

>>> started = time.perf_counter()
>>> bar = Bar(25_000, "reviews read")
>>> for done in range(0, 25_001, 5_000):
...     bar.update(done)
>>> stage("Read 25,000 reviews", started)     # "Read 25,000 reviews (3.1 s)"
"""
import sys
import time

LOG_INTERVAL = 5.0  # seconds between two progress lines when stdout is not a terminal


def stage(text, started=None):
    """Print `text`, with the seconds since `started` (a `time.perf_counter()`) if given."""
    took = "" if started is None else f" ({time.perf_counter() - started:.1f} s)"
    print(f"{text}{took}", flush=True)


class Bar:
    """Progress towards `total` units (`unit`: what they are, e.g. "reviews read")."""

    def __init__(self, total, unit):
        self.total, self.unit = max(int(total), 1), unit
        self.started = self.printed = time.perf_counter()
        self.done = 0
        self.terminal = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        if self.terminal:
            import keras

            self.progbar = keras.utils.Progbar(self.total, unit_name=unit)

    def update(self, done):
        """Say that `done` of the total are done (the bar ends at the total)."""
        done = min(int(done), self.total)
        if done == self.done == self.total:  # said already
            return
        self.done = done
        if self.terminal:
            self.progbar.update(done)
            return
        now = time.perf_counter()
        if now - self.printed >= LOG_INTERVAL or done == self.total:
            self.printed = now
            print(f"  {self.done:,}/{self.total:,} {self.unit} ({now - self.started:.0f} s)", flush=True)
