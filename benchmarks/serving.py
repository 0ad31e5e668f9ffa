"""Serving speed, side by side in one process: trained models through their SavedModel and
through the Python API, beside NB-LR and TF-IDF fitted here.

    python benchmarks/serving.py --model best=/work/models/best_1epoch --model default=/work/models/default
    python benchmarks/serving.py --model best=DIR --saved-model best-before=OLD_DIR   # an older export too

Every entry predicts the same reviews: the 2,000 test reviews `imdb.py` serves
(`imdb.load_reviews(test, limit=2000, seed=0)` in the order of a seeded permutation).
Entries:

    <name> SavedModel    tf.saved_model.load(DIR/saved_model).serve(tf.constant(batch))
    <name> Python API    sentiment_lstm.load(DIR).predict_proba(batch); one review: .predict([review])
    NB-LR, TF-IDF        imdb.py's baselines (`nb_lr_baseline`, `tfidf_baseline`), fitted
                         on the whole training split in this process

`--saved-model NAME=DIR` adds a SavedModel-only entry (e.g. one exported by an older
commit: a SavedModel carries its own graph, so old and new exports run side by side).

Measured in `--rounds` interleaved rounds: in each round every entry in turn predicts
all the reviews in batches of `--batch` (throughput: reviews / wall seconds), then makes
its share of `--latency-calls` single-review calls (cycling through the reviews); every
entry warms up first (one batch, `--warmup-calls` single calls). Reported: throughput
median and each round's, latency p50/p99/mean over all calls (imdb.py's
`latency_percentiles`), and the machine's load average at the start and the end (the
machine may be shared). Writes `--out` (default `benchmarks/results/serving.json`)
with `environment.describe()`.
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks import environment  # noqa: E402
from benchmarks.imdb import latency_percentiles, nb_lr_baseline, tfidf_baseline  # noqa: E402
from sentiment_lstm.core.checks import whole_number_argument  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "serving.json"


def benchmark_reviews(source, count=2000):
    """The test reviews `imdb.py` serves: `count` of the test split (seed 0), shuffled
    with `default_rng(0)` so lengths and classes mix."""
    from sentiment_lstm.data import imdb

    test = imdb.load_reviews(source, "test", limit=count, seed=0)
    order = np.random.default_rng(0).permutation(len(test.texts))
    return [test.texts[k] for k in order]


def saved_model_entry(name, model_dir):
    """`(name, batch predict, single predict, handle)` through `DIR/saved_model`'s `serve`."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(Path(model_dir) / "saved_model"))
    predict = lambda batch: loaded.serve(tf.constant(batch)).numpy()  # noqa: E731
    return {"name": f"{name} SavedModel", "model_dir": str(model_dir), "path": "SavedModel.serve",
            "batch": predict, "single": predict, "keep": loaded}


def api_entry(name, model_dir):
    """The same model through `sentiment_lstm.load(DIR)`: `predict_proba` for batches,
    `predict([review])` for one review."""
    import sentiment_lstm

    classifier = sentiment_lstm.load(model_dir)
    return {"name": f"{name} Python API", "model_dir": str(model_dir), "path": "load(DIR).predict",
            "batch": classifier.predict_proba, "single": classifier.predict, "keep": classifier}


def baseline_entries(source):
    """NB-LR and TF-IDF fitted on the whole training split, as `imdb.py` fits them."""
    from sentiment_lstm.core import config
    from sentiment_lstm.data import imdb

    train = imdb.load_reviews(source, "train", seed=config.Config().seed)
    test = imdb.load_reviews(source, "test", seed=0)
    entries = []
    for name, baseline in (("NB-LR", nb_lr_baseline), ("TF-IDF", tfidf_baseline)):
        predict, metrics = baseline(train.texts, train.labels, test.texts, test.labels)
        predict = getattr(predict, "predict_proba", predict)
        entries.append({"name": name, "path": "in process", "batch": predict, "single": predict,
                        "test_accuracy": metrics["test_accuracy"]})
    return entries


def measure(entries, reviews, batch_size, rounds, latency_calls, warmup_calls):
    """Interleaved rounds (see the module's text); adds `throughput_*` and `latency_ms` to
    each entry and returns them."""
    for entry in entries:
        entry["batch"](reviews[:batch_size])
        for k in range(warmup_calls):
            entry["single"]([reviews[k % len(reviews)]])
        entry["rates"], entry["durations"] = [], []
    per_round = -(-latency_calls // rounds)
    for r in range(rounds):
        for entry in entries:
            start = time.perf_counter()
            for k in range(0, len(reviews), batch_size):
                entry["batch"](reviews[k:k + batch_size])
            entry["rates"].append(len(reviews) / (time.perf_counter() - start))
            for k in range(r * per_round, min((r + 1) * per_round, latency_calls)):
                review = [reviews[k % len(reviews)]]
                start = time.perf_counter()
                entry["single"](review)
                entry["durations"].append(time.perf_counter() - start)
            print(f"round {r + 1}/{rounds} {entry['name']}: {entry['rates'][-1]:.0f} reviews/s", flush=True)
    results = []
    for entry in entries:
        kept = {k: v for k, v in entry.items() if k not in ("batch", "single", "keep", "rates", "durations")}
        results.append({**kept, "throughput_reviews_per_s": float(np.median(entry["rates"])),
                        "throughput_rounds": [round(r, 1) for r in entry["rates"]],
                        "latency_ms": latency_percentiles(entry["durations"])})
    return results


def markdown_table(results):
    """The results as a Markdown table."""
    lines = ["| entry | batch reviews/s (median; rounds) | single p50 ms | single p99 ms |", "|---|---:|---:|---:|"]
    for r in results:
        rounds = ", ".join(f"{x:.0f}" for x in r["throughput_rounds"])
        lines.append(f"| {r['name']} | {r['throughput_reviews_per_s']:.0f} ({rounds}) | "
                     f"{r['latency_ms']['p50_ms']:.2f} | {r['latency_ms']['p99_ms']:.2f} |")
    return "\n".join(lines)


def named_dir(value):
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {value!r}")
    return name, path


def main(argv=None):
    from sentiment_lstm import cli

    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=named_dir, action="append", default=[], metavar="NAME=DIR",
                        help="a model directory, served through its SavedModel and the Python API")
    parser.add_argument("--saved-model", type=named_dir, action="append", default=[], metavar="NAME=DIR",
                        help="a model directory served through its SavedModel only")
    parser.add_argument("--no-baselines", action="store_true", help="leave out NB-LR and TF-IDF")
    parser.add_argument("--data", help="the IMDB archive or folder (default: found as train.py finds it)")
    parser.add_argument("--reviews", type=whole_number_argument(), default=2000, help="test reviews (default: %(default)s)")
    parser.add_argument("--batch", type=whole_number_argument(), default=256, help="reviews per batch (default: %(default)s)")
    parser.add_argument("--rounds", type=whole_number_argument(), default=3, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--latency-calls", type=whole_number_argument(), default=200,
                        help="single-review calls per entry, over all rounds (default: %(default)s)")
    parser.add_argument("--warmup-calls", type=whole_number_argument(), default=20,
                        help="single-review calls per entry before measuring (default: %(default)s)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="results JSON (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.model and not args.saved_model:
        parser.error("give at least one --model NAME=DIR or --saved-model NAME=DIR")

    from sentiment_lstm.data import imdb
    from sentiment_lstm.core import startup

    startup.import_tensorflow()
    source = imdb.resolve_source(args.data)
    reviews = benchmark_reviews(source, args.reviews)
    entries = []
    for name, model_dir in args.model:
        entries += [saved_model_entry(name, model_dir), api_entry(name, model_dir)]
    entries += [saved_model_entry(name, model_dir) for name, model_dir in args.saved_model]
    if not args.no_baselines:
        entries += baseline_entries(source)
    load_before = os.getloadavg()
    results = measure(entries, reviews, args.batch, args.rounds, args.latency_calls, args.warmup_calls)
    report = {"environment": environment.describe(), "command": " ".join(["python", "benchmarks/serving.py",
                                                                         *(argv if argv is not None else sys.argv[1:])]),
              "reviews": len(reviews), "batch": args.batch, "rounds": args.rounds,
              "latency_calls": args.latency_calls, "warmup_calls": args.warmup_calls,
              "load_average_start_end": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
              "results": results}
    environment.write_json(args.out, report)
    print(markdown_table(results))
    print(f"load average (1 min) {report['load_average_start_end'][0]} at the start, "
          f"{report['load_average_start_end'][1]} at the end; written to {args.out}")


if __name__ == "__main__":
    from sentiment_lstm import cli

    cli.run(main)
