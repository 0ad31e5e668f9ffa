"""Command-line helpers the benchmarks share (argparse types)."""
import argparse


def positive_int(text):
    """An argparse `type`: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


positive_int.__name__ = "int"  # argparse names the type in its messages
