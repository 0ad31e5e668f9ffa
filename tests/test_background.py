"""Work in a second process (core/background.py): its answer, its error, its death."""
import os

import pytest

from sentiment_lstm.core import background
from sentiment_lstm.core.errors import UserError


def _refuse(text):
    raise UserError(f"refused: {text}")


def _die():
    os._exit(3)


def test_the_answer_comes_back():
    assert background.start(sorted, ["b", "c", "a"])() == ["a", "b", "c"]
    assert background.start(os.getpid)() != os.getpid()  # another process


def test_an_error_is_raised_in_the_caller():
    with pytest.raises(UserError, match="refused: this"):
        background.start(_refuse, "this")()


def test_a_process_that_dies_is_reported():
    with pytest.raises(RuntimeError, match="ended without an answer .exit code 3"):
        background.start(_die)()
