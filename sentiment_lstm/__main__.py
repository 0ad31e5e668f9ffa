"""`python -m sentiment_lstm ...` is the `sentiment-lstm` command."""
from sentiment_lstm import cli

cli.main()
