"""Explain predictions: which words moved the model, how it read the review, its gates.

    sentiment-lstm explain --model-dir DIR "Not good. Not good at all."
    sentiment-lstm explain --model-dir DIR --file reviews.txt --json     # one JSON object per review
    sentiment-lstm explain --model-dir DIR "A slow start, then superb." --html why.html

Prints each prediction with the words that pushed the model towards it and against
it (Integrated Gradients of the predicted class's log-odds, see
`sentiment_lstm/attributions.py`). `--json` prints the whole explanation instead:
`label`, `score`, `tokens`, `read`, `attributions`, `occlusion`, `trajectory`,
`log_odds`, `baseline_log_odds`, `completeness_gap`, `gates`, `steps` and more.
`--html` also writes a self-contained page colouring each word by its attribution,
with the curve of p(positive) word by word and the gates' heatmaps.
"""
import json

from sentiment_lstm.commands import predict
from sentiment_lstm.core import checks, files, paths, startup
from sentiment_lstm.core.errors import UsageError
from sentiment_lstm.explain import page

HELP = "explain predictions word by word (attributions, the review read step by step, gates)"


def add_arguments(parser):
    predict.add_review_arguments(parser, "explain")
    parser.add_argument("--json", action="store_true", help="print each whole explanation as one JSON line")
    parser.add_argument("--html", metavar="OUT.html", help="also write a self-contained page of the explanations")
    parser.add_argument("--steps", type=checks.whole_number_argument(), default=64,
                        help="Riemann steps of Integrated Gradients, at least 1 (default: %(default)s)")


def run(args):
    if not args.texts and not args.file:
        raise UsageError("give texts to explain: TEXT arguments, --file F, or - for stdin")
    predict.check_inputs(args)
    if args.html:
        paths.output_file(args.html)
    startup.import_tensorflow()
    from sentiment_lstm.explain import attributions
    from sentiment_lstm.inference import classify, score_files

    reviews = score_files.read_texts(args.texts, args.file)
    classifier = classify.load(args.model_dir)
    results = []
    for review in reviews:
        result = attributions.explain(classifier, review, steps=args.steps)
        results.append(result)
        print(json.dumps(result) if args.json else summary(result), flush=True)
    if args.html:
        with files.atomic_file(args.html) as tmp:
            tmp.write_text(page.render(reviews, results), encoding="utf-8")


def summary(result, k=5):
    """A few lines for the terminal: the prediction, the top words for and against it."""
    support, oppose = page.top_words(result, k)
    unread = len(result["tokens"]) - result["read_count"]
    lines = [f"{result['label']} ({result['score']:.3f}), {result['read_count']} words read"
             + (f", {unread} past the model's serving length not read" if unread else ""),
             "  for it:     " + (", ".join(f"{w} ({a:+.3f})" for w, a in support) or "none"),
             "  against it: " + (", ".join(f"{w} ({a:+.3f})" for w, a in oppose) or "none"),
             f"  (Integrated Gradients of the log-odds, {result['steps']} steps; completeness gap "
             f"{100 * page.relative_gap(result):.2f}%)"]
    return "\n".join(lines)
