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


class Progress:
    """Texts done, texts/s and, from the bytes of the files read, the ETA, on `stream`.

    On a terminal one line is redrawn in place (`bar`); else one line per update, at
    most every `interval` seconds. The final update ends the line, and says nothing new
    where the last line said it already: the same texts and bytes done.
    """

    def __init__(self, stream=None, bar=None, interval=5.0, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.bar = self.stream.isatty() if bar is None else bar
        self.interval = interval if not self.bar else 0.2
        self.clock = clock
        self.start = self.last = clock()
        self.texts = 0
        self.bytes_total = self.bytes_done = 0
        self.said = None  # (texts, bytes done) of the last line written
        self.width = 0  # of the line on a terminal, so a shorter one covers it

    def add_bytes_total(self, count):
        self.bytes_total += count

    def add_bytes_done(self, count):
        self.bytes_done += count

    def update(self, texts, final=False):
        """Count `texts` more done; report when the interval has passed (or `final`)."""
        self.texts += texts
        now = self.clock()
        if not final and now - self.last < self.interval:
            return
        self.last = now
        fresh = self.said != (self.texts, self.bytes_done)
        if self.bar:
            if fresh:
                line = self.line(now - self.start)
                self.stream.write("\r" + line.ljust(self.width))
                self.width = len(line)
            if final:
                self.stream.write("\n")
        elif fresh:
            self.stream.write(self.line(now - self.start) + "\n")
        self.said = (self.texts, self.bytes_done)
        self.stream.flush()

    def line(self, elapsed):
        """The report after `elapsed` seconds, e.g. `1,024 texts, 512/s, 40% of the input, ETA 0:05`."""
        rate = self.texts / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.texts:,} texts", f"{rate:,.0f}/s"]
        if self.bytes_total:
            fraction = min(self.bytes_done / self.bytes_total, 1.0)
            parts.append(f"{fraction:.0%} of the input")
            if 0 < fraction < 1:
                parts.append(f"ETA {_duration(elapsed * (1 - fraction) / fraction)}")
        return ", ".join(parts)


def _duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
