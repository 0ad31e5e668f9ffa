"""`python train.py ...` is `sentiment-lstm train ...` (see `sentiment_lstm/commands/train.py`)."""
from sentiment_lstm import cli

if __name__ == "__main__":
    cli.main(command="train")
