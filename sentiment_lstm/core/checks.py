"""The one check of a whole number that must be at least some minimum: for flags as
argparse reads them (`whole_number_argument`), and for values that functions are given
(`whole_number`), in the same words. Imports nothing heavy.

Example:

>>> whole_number(0, "--limit")
Traceback (most recent call last):
UserError: --limit must be at least 1, not 0.
"""
import argparse
import numbers

from sentiment_lstm.core.errors import UserError


def problem(value, minimum=1):
    """What is wrong with `value` as a whole number of at least `minimum`, as the end of a
    sentence ("must be at least 1, not 0"), or None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return f"must be a whole number of at least {minimum}, not {value!r}"
    if value < minimum:
        return f"must be at least {minimum}, not {value}"
    return None


def whole_number(value, name, minimum=1):
    """`value` as an int, if it is a whole number of at least `minimum`.

    Raises:
        UserError: "<name> must be at least <minimum>, not <value>."
    """
    wrong = problem(value, minimum)
    if wrong:
        raise UserError(f"{name} {wrong}.")
    return int(value)


def whole_number_argument(minimum=1):
    """An argparse `type`: the flag's text as a whole number of at least `minimum`."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        wrong = problem(value, minimum)
        if wrong:
            raise argparse.ArgumentTypeError(wrong)
        return value

    parse.__name__ = "int"  # argparse names the type in its messages
    return parse
