"""Work in a second process (core/background.py): its answer, its error, its death."""
import os

import pytest

from sentiment_lstm.core import background
from sentiment_lstm.core.errors import UserError


def _refuse(text):
    raise UserError(f"refused: {text}")


def _die():
    os._exit(3)


def _unpicklable():
    return lambda: None


def test_the_answer_comes_back():
    assert background.start(sorted, ["b", "c", "a"])() == ["a", "b", "c"]
    assert background.start(os.getpid)() != os.getpid()  # another process


def test_an_error_is_raised_in_the_caller_with_the_other_traceback_as_a_note():
    with pytest.raises(UserError, match="refused: this") as raised:
        background.start(_refuse, "this")()
    assert str(raised.value) == "refused: this"  # the one sentence a user sees
    assert "in _refuse" in raised.value.__notes__[0]


def test_an_answer_that_does_not_pickle_is_an_error():
    with pytest.raises(RuntimeError, match="could not be sent back"):
        background.start(_unpicklable)()


def test_a_process_that_dies_is_reported():
    with pytest.raises(RuntimeError, match="ended without an answer .exit code 3"):
        background.start(_die)()
