"""One run at a time per model directory: an exclusive lock file beside it.

Training keeps its state in the work area `<model_dir>.work/` and then publishes
`<model_dir>`; two runs on one model directory would reset each other's work area
and race for the same files. `hold(model_dir)` takes `fcntl.flock` on
`<model_dir>.lock`, writes its process id there, and keeps it while its `with` block
runs; a second run (another process) is refused at once with one sentence that names
the holder's pid.

The kernel releases a flock when its process ends, however it ends, so a lock file
left by a killed run is taken over by the next one (which says so). On release the
file is removed. Within one process the lock is re-entrant: `training.train` and
`export.publish_dir` both hold it, and the command that calls them can take it first,
before TensorFlow loads. Imports nothing heavy.

Example:

>>> with hold("models/imdb_lstm"):
...     ...   # nobody else trains or publishes models/imdb_lstm meanwhile
"""
import contextlib
import fcntl
import os
from pathlib import Path

from sentiment_lstm.core.errors import UserError

_held = {}  # lock file -> [file descriptor, depth], the locks this process holds


def lock_file(model_dir):
    """The lock file of `model_dir`: `<model_dir>.lock` beside it, as an absolute path."""
    directory = Path(model_dir).expanduser().resolve()
    return directory.with_name(f"{directory.name}.lock")


@contextlib.contextmanager
def hold(model_dir, what="model directory", flag="--model-dir"):
    """Hold the lock of `model_dir` for the `with` block (again, if this process has it).
    `what` and `flag` name the directory in the refusal (`tune` holds its `--out`).

    Raises:
        UserError: another live process holds it.
    """
    path = lock_file(model_dir)
    if path in _held:
        _held[path][1] += 1
        try:
            yield path
        finally:
            _held[path][1] -= 1
        return
    fd = _acquire(path, model_dir, what, flag)
    _held[path] = [fd, 1]
    try:
        yield path
    finally:
        del _held[path]
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still locked: a newcomer that opened it retries
        os.close(fd)


def _acquire(path, model_dir, what="model directory", flag="--model-dir"):
    """An open descriptor of `path` holding its flock, with our pid written in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _pid_in(fd)
            os.close(fd)
            who = f"Another run (pid {holder})" if holder else "Another run"
            raise UserError(f"{who} is using the {what} {model_dir}; "
                            f"wait for it to end or choose another {flag}.") from None
        try:  # the file we locked is still the one at `path`, not one a leaving holder removed
            current = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    previous = _pid_in(fd)
    if previous and previous != os.getpid():
        print(f"Taking over the lock of {model_dir} left by pid {previous}, which is no longer running.")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _pid_in(fd):
    """The process id written in the lock file `fd`, else None."""
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
