"""Evaluate a trained model on labeled texts it has not seen.

    sentiment-lstm evaluate --model-dir DIR [--data PATH] [--limit K]

`--data` is a folder or archive of class folders (its test split if it has splits),
IMDB's archive or aclImdb/ folder (its test split), or a table of texts and labels
(CSV, TSV or JSON lines; `--text-column`, `--label-column`); by default the test split
of the data the model was trained on (IMDB's for the default model). Prints a
classification report and a summary, and writes metrics.json, confusion_matrix.png
and roc_curve.png into DIR (or `--out`) for a whole test split; a table or `--limit`
writes names that say what it was, e.g. metrics_test_limit200.json or
metrics_<table name>.json.
"""
from sentiment_lstm.core import config, layout, paths, startup
from sentiment_lstm.data import sources

HELP = "score a trained model on labeled texts it has not seen (default: its data's test split)"


def add_arguments(parser):
    parser.add_argument("--model-dir", default=config.Config().output_dir,
                        help="model directory written by train (default: %(default)s)")
    parser.add_argument("--data", help="a folder or archive of class folders (its test split), IMDB's archive or "
                                       "aclImdb/ folder, or a CSV/TSV/JSON-lines table of texts and labels "
                                       "(default: the test split of the model's training data)")
    parser.add_argument("--text-column", metavar="NAME", help="the text's column of a table (default: the "
                        "model's, else text, review, sentence, question, ...)")
    parser.add_argument("--label-column", metavar="NAME", help="the label's column of a table (default: the "
                        "model's, else label, class, category, ...)")
    parser.add_argument("--limit", type=config.parse_type("limit"),
                        help="evaluate on at most this many texts, balanced over the classes")
    parser.add_argument("--out", metavar="DIR",
                        help="write the metrics and plots into DIR (default: the model directory)")


def run(args):
    trained = layout.read(args.model_dir)[0]  # paths first: a mistake is reported before TensorFlow loads
    args.data = sources.locate(args.data)
    if args.data is not None:
        sources.check(args.data, args.text_column or trained.text_column, args.label_column or trained.label_column)
    if args.out is not None:
        paths.output_dir(args.out)
    startup.import_tensorflow()
    from sentiment_lstm.evaluation import evaluate

    evaluate.evaluate(args.model_dir, args.data, args.limit, out=args.out, text_column=args.text_column,
                      label_column=args.label_column)
