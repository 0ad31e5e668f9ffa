"""`python serve.py ...` is `sentiment-lstm serve ...` (see `sentiment_lstm/commands/serve.py`)."""
from sentiment_lstm import cli

if __name__ == "__main__":
    cli.main(command="serve")
