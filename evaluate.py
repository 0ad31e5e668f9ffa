"""`python evaluate.py ...` is `sentiment-lstm evaluate ...` (see `sentiment_lstm/commands/evaluate.py`)."""
from sentiment_lstm import cli

if __name__ == "__main__":
    cli.main(command="evaluate")
