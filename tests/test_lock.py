"""One run per model directory (`lock.py`), with real processes: a second `train.py` on
the same model directory is refused at once, naming the first by its pid, and the
first finishes as if alone; a lock whose holder was killed is taken over."""
import os
import signal
import subprocess
import sys
import time

import pytest

from script_runner import REPO, run_script
from sentiment_lstm.core import lock
from sentiment_lstm.core.errors import UserError

TINY_FLAGS = ["--recipe", "plain", "--epochs", "1", "--units", "4", "--embed-dim", "8", "--max-tokens", "50",
              "--max-length", "20", "--val-fraction", "0.5", "--batch-size", "2"]

HOLD = """
import sys, time
from sentiment_lstm.core import lock
with lock.hold(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def wait_for_pid_in(path, pid, timeout=120):
    """Wait until the lock file `path` names `pid`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip() == str(pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never named pid {pid}")


def test_a_second_run_on_one_model_dir_is_refused_naming_the_first(imdb_folder, tmp_path):
    model_dir = tmp_path / "runs" / "model"
    command = [sys.executable, "train.py", "--data", str(imdb_folder), *TINY_FLAGS, "--model-dir", str(model_dir)]
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_pid_in(lock.lock_file(model_dir), first.pid)
        started = time.monotonic()
        second = subprocess.run(command, cwd=REPO, capture_output=True, timeout=300)
        refused_in = time.monotonic() - started
        out, err = first.communicate(timeout=600)
    finally:
        first.kill()
    assert second.returncode == 1 and second.stdout == b""
    assert second.stderr.decode() == (
        f"error: Another run (pid {first.pid}) is using the model directory {model_dir}; "
        "wait for it to end or choose another --model-dir.\n")
    assert refused_in < 60, "refused before TensorFlow loads, not after"  # generous: a loaded machine
    assert first.returncode == 0, err.decode()
    assert (model_dir / "model.keras").is_file() and (model_dir / "training_curves.png").is_file()
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["model"]  # no work area, no lock file left


def test_a_lock_whose_holder_was_killed_is_taken_over(tmp_path):
    model_dir = tmp_path / "model"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(model_dir)], cwd=REPO, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(UserError, match=f"^Another run \\(pid {holder.pid}\\) is using"):
            with lock.hold(model_dir):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock.lock_file(model_dir).read_text() == f"{holder.pid}\n"  # left behind by the kill
    taken = run_script("-c", HOLD.replace("time.sleep(600)", "pass"), str(model_dir))
    assert taken.returncode == 0, taken.stderr.decode()
    assert taken.stdout.decode() == (f"Taking over the lock of {model_dir} left by pid {holder.pid}, "
                                     "which is no longer running.\nheld\n")
    assert not lock.lock_file(model_dir).exists()


def test_the_lock_is_re_entrant_in_one_process(tmp_path):
    with lock.hold(tmp_path / "m") as path:
        with lock.hold(tmp_path / "m"):
            assert path.read_text() == f"{os.getpid()}\n"
        assert path.exists()  # still held by the outer block
    assert not path.exists()
