"""Classify reviews: one JSON object per review and line, {"label": ..., "score": ..., "known_words": ...}.

    sentiment-lstm predict --model-dir DIR "A great film." "Two hours I will not get back."
    sentiment-lstm predict --model-dir DIR --file reviews.txt    # one review per line
    cat reviews.txt | sentiment-lstm predict --model-dir DIR -
    sentiment-lstm predict --model-dir DIR --file reviews.csv --text-column review --out scored.csv

`score` is the model's probability of the printed label; `known_words` is how many of
the words it read are in its vocabulary (0: no evidence either way, a score near 0.5).

Files of any size stream: they are read, scored and written a few thousand reviews at
a time, each lot sorted by length into batches. `.csv`/`.tsv` files are tables with a
header (the review in `--text-column`, default `text` or `review`), `.jsonl` files one
JSON object per line (the review under the key `--text-column`), any other file one
review per line. `--out FILE` is written atomically: JSON lines, or, for one table, the
table with `label` and `score` columns added (`predicted_label`, `predicted_score`
where it has those names already). Progress (reviews/s, ETA) goes to stderr: a bar on a
terminal, else one line per update; by default when files are read and stderr is a
terminal or `--out` is given.
"""
import argparse

from sentiment_lstm.core import config, layout, paths, startup
from sentiment_lstm.core.errors import UsageError

HELP = "classify reviews with a trained model"


def add_arguments(parser):
    add_review_arguments(parser, "classify")
    parser.add_argument("--out", metavar="FILE",
                        help="write the predictions to FILE (atomically) instead of stdout")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="report progress on stderr (default: when reading files, on a terminal or with --out)")


def add_review_arguments(parser, verb):
    """The flags of the reviews to `verb` (TEXT..., --file, --text-column, --model-dir),
    as predict and explain read them."""
    parser.add_argument("texts", nargs="*", metavar="TEXT",
                        help=f"a review to {verb}; - reads reviews from stdin, one per line")
    parser.add_argument("--file", action="append", default=[], metavar="F",
                        help="a file of reviews: one per line, or a .csv/.tsv table or .jsonl lines "
                             "(see --text-column); - is stdin; may be repeated")
    parser.add_argument("--text-column", metavar="NAME",
                        help="the review's column of .csv/.tsv files, or key of .jsonl lines "
                             "(default: text, else review)")
    parser.add_argument("--model-dir", default=config.Config().output_dir,
                        help="model directory written by train (default: %(default)s)")


def run(args):
    if not args.texts and not args.file:
        raise UsageError("give reviews to classify: TEXT arguments, --file F, or - for stdin")
    for name in args.file:  # paths first: a mistake is reported before TensorFlow loads
        paths.readable_file(name)
    layout.check(args.model_dir)
    startup.import_tensorflow()
    from sentiment_lstm.inference import score_files

    score_files.main(args.model_dir, args.texts, args.file, out=args.out, text_column=args.text_column,
                   progress=args.progress)
