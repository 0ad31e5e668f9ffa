"""Parity of a model's serving on real reviews: an older export's SavedModel against this
commit's SavedModel and `sentiment_lstm.load(...).predict_proba`.

    python benchmarks/serving_parity.py --before /work/models/best_1epoch --after NEW_DIR

`--before` is a model directory exported by an older commit (its SavedModel carries its
own graph); `--after` the same model published by this commit (`scripts/serve_length.py`
or `export.republish`). Reviews: the benchmark's 2,000 test reviews
(`serving.benchmark_reviews`), an empty one, one of whitespace, and one of 1 MB (the
longest of them repeated). Prints and writes the largest absolute difference of the
probabilities, by path, to `--out` (default `benchmarks/results/serving_parity.json`).
"""
import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks import environment  # noqa: E402
from benchmarks.serving import benchmark_reviews  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "serving_parity.json"))
    args = parser.parse_args(argv)
    from sentiment_lstm.data import imdb
    from sentiment_lstm.core import startup

    tf = startup.import_tensorflow()
    import sentiment_lstm

    reviews = benchmark_reviews(imdb.resolve_source(None))
    longest = max(reviews, key=len)
    huge = (longest + " ") * (1_000_000 // (len(longest) + 1) + 1)
    reviews += ["", "   ", huge[:1_000_000]]
    before = tf.saved_model.load(str(Path(args.before) / "saved_model"))
    after = tf.saved_model.load(str(Path(args.after) / "saved_model"))

    def batches(serve):
        return np.concatenate([serve(tf.constant(reviews[k:k + 256])).numpy() for k in range(0, len(reviews), 256)])

    # The older export pads a batch to its longest review at every layer: the 1 MB
    # review (about 200,000 tokens) in a batch of 256 would need some 30 GB there, so
    # the last three go through it one by one.
    short = reviews[:-3]
    expected = np.concatenate([np.concatenate([before.serve(tf.constant(short[k:k + 256])).numpy()
                                               for k in range(0, len(short), 256)]),
                               *[before.serve(tf.constant([r])).numpy() for r in reviews[-3:]]])
    differences = {"SavedModel (batches of 256)": batches(after.serve),
                   "SavedModel (one review per call, first 200 and the last 3)": np.concatenate(
                       [after.serve(tf.constant([r])).numpy() for r in reviews[:200] + reviews[-3:]]),
                   "load().predict_proba (all at once)": sentiment_lstm.load(args.after).predict_proba(reviews)}
    singles = list(range(200)) + [len(reviews) - 3, len(reviews) - 2, len(reviews) - 1]
    result = {}
    for name, probabilities in differences.items():
        reference = expected[singles] if "one review" in name else expected
        result[name] = float(np.abs(probabilities - reference).max())
        print(f"{name}: max |difference| {result[name]:.2e}")
    environment.write_json(args.out, {"environment": environment.describe(), "before": args.before,
                                      "after": args.after, "reviews": len(reviews),
                                      "longest_characters": len(reviews[-1]), "max_abs_difference": result})


if __name__ == "__main__":
    main()
