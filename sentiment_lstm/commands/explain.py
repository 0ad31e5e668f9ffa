"""Explain predictions: which words moved the model, how it read the review, its gates.

    sentiment-lstm explain --model-dir DIR "Not good. Not good at all."
    sentiment-lstm explain --model-dir DIR --file reviews.txt --json     # one JSON object per review
    sentiment-lstm explain --model-dir DIR "A slow start, then superb." --html why.html
    sentiment-lstm explain --model-dir models/20news "The GPU driver crashed" --target comp.graphics

Prints each prediction with the words that pushed the model towards it and against
it (Integrated Gradients of the predicted class's log-odds against the other classes,
see `sentiment_lstm/explain/attributions.py`); `--target NAME` explains class NAME
instead. `--json` prints the whole explanation: `label`, `score`, `target`, `tokens`,
`read`, `attributions`, `occlusion`, `trajectories` (every class's probability after
each word), `trajectory`, `log_odds`, `baseline_log_odds`, `completeness_gap`,
`gates`, `steps` and more. `--html` also writes a self-contained page colouring each
word by its attribution, with the curve word by word (p(positive); with more classes,
the class explained and the runner-up) and the gates' heatmaps.
"""
import json

from sentiment_lstm.commands import predict
from sentiment_lstm.core import checks, files, layout, paths, startup
from sentiment_lstm.core.errors import UsageError
from sentiment_lstm.explain import page

HELP = "explain predictions word by word (attributions, the review read step by step, gates)"


def add_arguments(parser):
    predict.add_review_arguments(parser, "explain")
    parser.add_argument("--json", action="store_true", help="print each whole explanation as one JSON line")
    parser.add_argument("--html", metavar="OUT.html", help="also write a self-contained page of the explanations")
    parser.add_argument("--steps", type=checks.whole_number_argument(), default=64,
                        help="Riemann steps of Integrated Gradients, at least 1 (default: %(default)s)")
    parser.add_argument("--target", metavar="NAME",
                        help="the class to explain, one of the model's (default: each text's predicted class)")


def run(args):
    if not args.texts and not args.file:
        raise UsageError("give texts to explain: TEXT arguments, --file F, or - for stdin")
    predict.check_inputs(args)
    labels = layout.read(args.model_dir)[1]["labels"]
    if args.target is not None and args.target not in labels:
        raise UsageError(f"--target {args.target!r} is not a class of this model; its classes are "
                         f"{', '.join(labels)}")
    if args.html:
        paths.output_file(args.html)
    startup.import_tensorflow()
    from sentiment_lstm.explain import attributions
    from sentiment_lstm.inference import classify, score_files

    reviews = score_files.read_texts(args.texts, args.file)
    classifier = classify.load(args.model_dir)
    results = []
    for review in reviews:
        result = attributions.explain(classifier, review, steps=args.steps, target=args.target)
        results.append(result)
        print(json.dumps(result) if args.json else summary(result), flush=True)
    if args.html:
        with files.atomic_file(args.html) as tmp:
            tmp.write_text(page.render(reviews, results), encoding="utf-8")


def summary(result, k=5):
    """A few lines for the terminal: the prediction, the top words for and against it."""
    support, oppose = page.top_words(result, k)
    unread = len(result["tokens"]) - result["read_count"]
    target = result.get("target", result["label"])
    lines = [f"{result['label']} ({result['score']:.3f}), {result['read_count']} words read"
             + (f", {unread} past the model's serving length not read" if unread else "")
             + ("" if target == result["label"] else f"; explaining {target} ({result['probabilities'][target]:.3f})"),
             "  for it:     " + (", ".join(f"{w} ({a:+.3f})" for w, a in support) or "none"),
             "  against it: " + (", ".join(f"{w} ({a:+.3f})" for w, a in oppose) or "none"),
             f"  (Integrated Gradients of the log-odds, {result['steps']} steps; completeness gap "
             f"{100 * page.relative_gap(result):.2f}%)"]
    return "\n".join(lines)
