"""Files written whole or not at all: a file or a directory is written beside its
final path under a hidden temporary name, then renamed into place, so a crash never
leaves half of one where a good one was. Imports nothing heavy.

Example:

>>> with atomic_file("metrics.json") as tmp:
...     tmp.write_text("{}")
"""
import contextlib
import os
import re
import shutil
import uuid
from pathlib import Path

from sentiment_lstm.core import lock
from sentiment_lstm.core.layout import check_replaceable


def publish_dir(directory, write):
    """Fill a fresh temporary sibling of `directory` with `write(path)`, then swap it in.

    The old `directory`, if any, is renamed aside, the new one renamed into place,
    then the old one deleted. If `write` raises, the temporary directory is removed,
    `directory` is untouched and the exception propagates. It holds the model
    directory's lock (`lock.hold`) throughout, so no other process publishes there
    meanwhile, and any hidden sibling that a killed publish left (`.NAME.new-*`,
    `.NAME.old-*`) is stale: it is removed once the new directory is in place.
    """
    directory = check_replaceable(directory)
    with lock.hold(directory):
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = _sibling(directory, "new")
        staging.mkdir()
        try:
            write(staging)
            old = None
            if directory.exists():
                old = _sibling(directory, "old")
                os.replace(directory, old)
            try:
                os.replace(staging, directory)
            except BaseException:
                if old is not None:
                    os.replace(old, directory)
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        for stale in _siblings(directory):  # ours (`old`) and any a killed publish left
            shutil.rmtree(stale, ignore_errors=True)
    return directory


def _sibling(path, role):
    """An unused hidden path beside `path`, with the same suffix."""
    return path.with_name(f".{path.stem}.{role}-{uuid.uuid4().hex[:8]}{path.suffix}")


def _siblings(path):
    """The hidden staging and old directories of `path` (`_sibling`'s) that exist now."""
    name = re.compile(rf"\.{re.escape(path.stem)}\.(new|old)-[0-9a-f]{{8}}{re.escape(path.suffix)}")
    return [p for p in path.parent.iterdir() if name.fullmatch(p.name) and p.is_dir()]


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary path beside `path`; on success it replaces `path` in one step.

    Example:

    >>> with atomic_file("metrics.json") as tmp:
    ...     tmp.write_text("{}")
    """
    path = Path(path)
    tmp = _sibling(path, "new")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
