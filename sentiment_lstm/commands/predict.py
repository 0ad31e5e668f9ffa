"""Classify reviews: one JSON object per review and line, {"label": ..., "score": ...}.

    sentiment-lstm predict --model-dir DIR "A great film." "Two hours I will not get back."
    sentiment-lstm predict --model-dir DIR --file reviews.txt    # one review per line
    cat reviews.txt | sentiment-lstm predict --model-dir DIR -

`score` is the model's probability of the printed label.
"""
from sentiment_lstm import config, startup
from sentiment_lstm.errors import UsageError

HELP = "classify reviews with a trained model"


def add_arguments(parser):
    add_review_arguments(parser, "classify")


def add_review_arguments(parser, verb):
    """The flags of the reviews to `verb` (TEXT..., --file, --model-dir), as predict and explain read them."""
    parser.add_argument("texts", nargs="*", metavar="TEXT",
                        help=f"a review to {verb}; - reads reviews from stdin, one per line")
    parser.add_argument("--file", action="append", default=[], metavar="F",
                        help="a file of reviews, one per line (- is stdin); may be repeated")
    parser.add_argument("--model-dir", default=config.Config().output_dir,
                        help="model directory written by train (default: %(default)s)")


def run(args):
    if not args.texts and not args.file:
        raise UsageError("give reviews to classify: TEXT arguments, --file F, or - for stdin")
    startup.import_tensorflow()
    from sentiment_lstm import inference

    inference.main(args.model_dir, args.texts, args.file)
