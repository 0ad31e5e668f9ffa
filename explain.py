"""`python explain.py ...` is `sentiment-lstm explain ...` (see `sentiment_lstm/commands/explain.py`)."""
from sentiment_lstm import cli

if __name__ == "__main__":
    cli.main(command="explain")
