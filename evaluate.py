"""Evaluate a trained model on labeled reviews it has not seen.

    python evaluate.py --model-dir DIR [--data PATH] [--limit K]

`--data` is an aclImdb folder or archive (its test split), or a CSV/TSV table of
text and label; by default the IMDB test split. Prints a classification report
and writes metrics.json, confusion_matrix.png and roc_curve.png into DIR.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs; set before it loads

from sentiment_lstm import cli, config  # noqa: E402


def main():
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=config.Config().output_dir,
                        help="model directory written by train.py (default: %(default)s)")
    parser.add_argument("--data", help="aclImdb folder or archive, or a CSV/TSV of text and label "
                                       "(default: the IMDB test split)")
    parser.add_argument("--limit", type=config.parse_type("limit"),
                        help="evaluate on at most this many reviews, balanced")
    args = parser.parse_args()
    from sentiment_lstm import evaluation

    evaluation.evaluate(args.model_dir, args.data, args.limit)


if __name__ == "__main__":
    cli.run(main)
