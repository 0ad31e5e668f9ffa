"""Classify texts: one JSON object per text and line,
{"label": ..., "score": ..., "scores": {class: probability, ...}, "known_words": ...}.

    sentiment-lstm predict --model-dir DIR "A great film." "Two hours I will not get back."
    sentiment-lstm predict --model-dir DIR --file reviews.txt    # one text per line
    cat reviews.txt | sentiment-lstm predict --model-dir DIR -
    sentiment-lstm predict --model-dir DIR --file reviews.csv --text-column review --out scored.csv

`label` is the most probable class and `score` its probability; `scores` gives every
class's probability (`--top-k K`: the K most probable); `known_words` is how many of
the words it read are in its vocabulary (0: no evidence either way).

Files of any size stream: they are read, scored and written a few thousand texts at
a time, each lot sorted by length into batches. `.csv`/`.tsv` files are tables with a
header (the text in `--text-column`, by default `text`, `review`, `sentence` ...),
`.jsonl` files one JSON object per line (the text under the key `--text-column`), any
other file one text per line. `--out FILE` is written atomically: JSON lines, or, for
one table, the table with `label` and `score` columns added (`predicted_label`,
`predicted_score` where it has those names already), and with `--all-scores` a
`score_<class>` column for each of the model's classes. Progress (texts/s, ETA) goes to
stderr: a bar on a terminal, else one line per update; by default when files are read
and stderr is a terminal or `--out` is given.
"""
import argparse

from sentiment_lstm.core import checks, config, layout, paths, startup
from sentiment_lstm.core.errors import UsageError
from sentiment_lstm.data import streaming

HELP = "classify texts with a trained model"


def add_arguments(parser):
    add_review_arguments(parser, "classify")
    parser.add_argument("--out", metavar="FILE",
                        help="write the predictions to FILE (atomically) instead of stdout")
    parser.add_argument("--top-k", type=checks.whole_number_argument(), metavar="K",
                        help="keep the K most probable classes in each prediction's scores (default: all)")
    parser.add_argument("--all-scores", action="store_true",
                        help="with --out TABLE.csv/.tsv: add a score_<class> column for each class")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="report progress on stderr (default: when reading files, on a terminal or with --out)")


def add_review_arguments(parser, verb):
    """The flags of the texts to `verb` (TEXT..., --file, --text-column, --model-dir),
    as predict and explain read them."""
    parser.add_argument("texts", nargs="*", metavar="TEXT",
                        help=f"a text to {verb}; - reads texts from stdin, one per line")
    parser.add_argument("--file", action="append", default=[], metavar="F",
                        help="a file of texts: one per line, or a .csv/.tsv table or .jsonl lines "
                             "(see --text-column); - is stdin; may be repeated")
    parser.add_argument("--text-column", metavar="NAME",
                        help="the text's column of .csv/.tsv files, or key of .jsonl lines "
                             "(default: text, review, sentence, question, ...)")
    parser.add_argument("--model-dir", default=config.Config().output_dir,
                        help="model directory written by train (default: %(default)s)")


def run(args):
    if not args.texts and not args.file:
        raise UsageError("give texts to classify: TEXT arguments, --file F, or - for stdin")
    if args.all_scores and args.top_k is not None:
        raise UsageError("--all-scores writes every class's score; it cannot be combined with --top-k")
    check_inputs(args)
    if args.out is not None:
        paths.output_file(args.out)
    startup.import_tensorflow()
    from sentiment_lstm.inference import score_files

    score_files.main(args.model_dir, args.texts, args.file, out=args.out, text_column=args.text_column,
                     progress=args.progress, top_k=args.top_k, all_scores=args.all_scores)


def check_inputs(args):
    """The input files (a table's text column too) and the model directory, checked
    before TensorFlow loads, so a mistake is reported at once."""
    for name in args.file:
        paths.readable_file(name)
    streaming.check_inputs(args.file, args.text_column)
    layout.check(args.model_dir)
