"""Classify reviews: one JSON object per review and line, {"label": ..., "score": ..., "known_words": ...}.

    sentiment-lstm predict --model-dir DIR "A great film." "Two hours I will not get back."
    sentiment-lstm predict --model-dir DIR --file reviews.txt    # one review per line
    cat reviews.txt | sentiment-lstm predict --model-dir DIR -

`score` is the model's probability of the printed label; `known_words` is how many of
the words it read are in its vocabulary (0: no evidence either way, a score near 0.5).
"""
from sentiment_lstm import config, paths, startup
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
    for name in args.file:  # paths first: a mistake is reported before TensorFlow loads
        paths.readable_file(name)
    paths.model_dir(args.model_dir)
    startup.import_tensorflow()
    from sentiment_lstm import inference

    inference.main(args.model_dir, args.texts, args.file)
