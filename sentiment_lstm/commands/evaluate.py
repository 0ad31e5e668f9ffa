"""Evaluate a trained model on labeled reviews it has not seen.

    sentiment-lstm evaluate --model-dir DIR [--data PATH] [--limit K]

`--data` is an aclImdb folder or archive (its test split), or a CSV/TSV table of
text and label; by default the IMDB test split. Prints a classification report and
a summary, and writes metrics.json, confusion_matrix.png and roc_curve.png into DIR
(or `--out`) for the whole test split; any other data or `--limit` writes names that
say what it was, e.g. metrics_test_limit200.json or metrics_<table name>.json.
"""
from sentiment_lstm.core import config, layout, paths, startup

HELP = "score a trained model on the IMDB test split or a labeled table"


def add_arguments(parser):
    parser.add_argument("--model-dir", default=config.Config().output_dir,
                        help="model directory written by train (default: %(default)s)")
    parser.add_argument("--data", help="aclImdb folder or archive, or a CSV/TSV of text and label "
                                       "(default: the IMDB test split)")
    parser.add_argument("--limit", type=config.parse_type("limit"),
                        help="evaluate on at most this many reviews, balanced")
    parser.add_argument("--out", metavar="DIR",
                        help="write the metrics and plots into DIR (default: the model directory)")


def run(args):
    layout.check(args.model_dir)  # paths first: a mistake is reported before TensorFlow loads
    if args.data is not None:
        paths.existing_data(args.data)
    if args.out is not None:
        paths.output_dir(args.out)
    startup.import_tensorflow()
    from sentiment_lstm.evaluation import evaluate

    evaluate.evaluate(args.model_dir, args.data, args.limit, out=args.out)
