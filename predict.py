"""`python predict.py ...` is `sentiment-lstm predict ...` (see `sentiment_lstm/commands/predict.py`)."""
from sentiment_lstm import cli

if __name__ == "__main__":
    cli.main(command="predict")
