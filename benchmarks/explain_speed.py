"""Time of one explanation (`sentiment_lstm/explain/attributions.py`) of a median-length review.

The review is the validation review (`sources.held_out(config, "validation")`) whose
number of words read is the split's median (`--words N`: nearest to N). After one warm-up call (which traces the
functions), `explain` runs `--repeats` times, and then each part of it alone
(Integrated Gradients, occlusion, the step-by-step trace); medians are reported.

    python benchmarks/explain_speed.py --model-dir /work/models/best_1epoch
    python benchmarks/explain_speed.py --model-dir /work/models/best_1epoch --words 230 \
        --out benchmarks/results/explain_speed_230.json
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.environment import describe, write_json  # noqa: E402
from sentiment_lstm.data import sources  # noqa: E402
from sentiment_lstm.explain import attributions
from sentiment_lstm.inference import classify


def timed(function, repeats):
    """Median and minimum seconds of `repeats` calls of `function()`."""
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        function()
        times.append(time.perf_counter() - tic)
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps", type=int, default=attributions.DEFAULT_STEPS)
    parser.add_argument("--words", type=int, help="time a review of about this many words read "
                        "(default: the validation split's median)")
    parser.add_argument("--data", help="IMDB archive or folder (default: found automatically)")
    parser.add_argument("--out", default="benchmarks/results/explain_speed.json")
    args = parser.parse_args(argv)
    classifier = classify.load(args.model_dir)
    explainer = attributions.explainer(classifier)
    reviews = sources.held_out(classifier.config, "validation", args.data).texts
    lengths = np.array([min(len(explainer.tokenize(r)[2]), explainer.serve_length or 10**9) for r in reviews])
    median = int(np.median(lengths))
    review = reviews[int(np.argmin(np.abs(lengths - (args.words or median))))]
    tic = time.perf_counter()
    result = attributions.explain(classifier, review, steps=args.steps)
    first = time.perf_counter() - tic
    ids = explainer.tokenize(review)[2][:result["read_count"]]
    j = explainer.labels.index(result["label"])
    load = os.getloadavg()[0]
    parts = {
        "explain": timed(lambda: attributions.explain(classifier, review, steps=args.steps), args.repeats),
        "integrated_gradients": timed(lambda: explainer.integrated_gradients(ids, j, args.steps), args.repeats),
        "occlusion": timed(lambda: explainer.occlusion(ids, j, result["score"]), args.repeats),
        "trace": timed(lambda: explainer._trace(tf.constant(ids[None])), args.repeats),
    }
    out = {**describe(), "command": " ".join(["python", "benchmarks/explain_speed.py", *sys.argv[1:]]),
           "model_dir": args.model_dir, "serve_length": explainer.serve_length, "steps": args.steps,
           "median_read_words_of_validation": median, "review_read_words": result["read_count"],
           "first_call_s": first, "times": parts,
           "load_average_1min": {"start": load, "end": os.getloadavg()[0]}}
    write_json(args.out, out)
    print(out)


if __name__ == "__main__":
    main()
