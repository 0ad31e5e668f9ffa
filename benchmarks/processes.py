"""Run a child process and measure it: wall time and peak resident memory of its tree."""
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # children run from the repository root


class TreePeak:
    """Peak resident memory (MiB) of a child process and its descendants, while it runs.

    A thread polls every `interval` seconds: the child's own high-water mark (VmHWM in
    /proc/<pid>/status, exact since its exec, so a poll only has to come before it exits)
    and the summed RSS of its process tree (psutil). Not `ru_maxrss`: on Linux a child
    inherits in it the RSS of the parent that spawned it.
    """

    def __init__(self, pid, interval=0.05):
        import psutil

        self.psutil = psutil
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def mib(self):
        return self.peak_kib / 1024

    def _run(self):
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self):
        hwm = vm_hwm_kib(self.pid)
        if hwm:
            self.peak_kib = max(self.peak_kib, hwm)
        try:
            process = self.psutil.Process(self.pid)
            tree = [process, *process.children(recursive=True)]
            total = 0
            for member in tree:
                try:
                    total += member.memory_info().rss
                except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                    pass
            self.peak_kib = max(self.peak_kib, total // 1024)
        except (self.psutil.NoSuchProcess, self.psutil.AccessDenied, self.psutil.ZombieProcess):
            pass


def vm_hwm_kib(pid):
    """The peak RSS (KiB) of process `pid` since its exec, or None where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_child(argv, log_path):
    """Run `python argv...` from the repository root, output to `log_path`.

    Returns:
        (exit status, wall seconds, peak RSS in MiB of the child's process tree).
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        log.write("$ " + shlex.join([sys.executable, *argv]) + "\n")
        log.flush()
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        try:
            with TreePeak(child.pid) as peak:
                status = child.wait()
        except BaseException:
            child.kill()
            child.wait()
            raise
        seconds = time.perf_counter() - start
    return status, seconds, peak.mib


def last_line(log_path):
    lines = [line for line in Path(log_path).read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


class ChildFailed(Exception):
    pass
