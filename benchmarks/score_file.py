"""Scoring a file at scale: `predict.py --file F --out O` against NB-LR on the same file.

    python benchmarks/score_file.py --file /tmp/reviews.txt --model best=/work/models/best_1epoch

Each entry runs in a child process of its own, from the repository root, and is timed
whole (wall seconds; peak RSS of its process tree, `processes.run_child`):

    <name>   predict.py --model-dir DIR --file F --out <tmp>.jsonl   (start-up and model
             load included; its last progress line gives the scoring rate alone)
    NB-LR    this script's --run-nb-lr: fit NB-LR on the training split (not timed in the
             rate), then score F the way predict does: `streaming.iter_records` in chunks of
             `inference.CHUNK`, JSON lines into an atomic --out

The file stays outside the repository (write one review per line, e.g. from the test and
unlabeled splits). Writes `--result` (default `benchmarks/results/score_file.json`).
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import environment  # noqa: E402
from benchmarks.processes import last_line, run_child  # noqa: E402


def run_nb_lr(path, out):
    """Fit NB-LR on the training split, then score `path` chunk by chunk into `out`."""
    import numpy as np

    from sentiment_lstm.core import config
    from sentiment_lstm.data import imdb
    from sentiment_lstm.core import files
    from sentiment_lstm.data import streaming
    from sentiment_lstm.inference import score_files
    from sentiment_lstm.training import teacher

    train = imdb.load_reviews(imdb.resolve_source(None), "train", seed=config.Config().seed)
    nb_lr = teacher.NBLR(list(train.texts), np.asarray(train.labels))
    start, count = time.perf_counter(), 0
    with files.atomic_file(out) as tmp, open(tmp, "w", encoding="utf-8") as stream:
        writer = score_files.JsonLinesWriter(stream)
        for chunk in streaming.chunks(streaming.iter_records(files=[path]), 4096):
            probabilities = teacher.soft_targets(nb_lr.log_odds([review for review, _ in chunk]))
            k = probabilities.argmax(axis=1)
            writer.write(chunk, [{"label": imdb.LABELS[j], "score": float(row[j])} for row, j in zip(probabilities, k)])
            count += len(chunk)
    seconds = time.perf_counter() - start
    print(f"{count:,} reviews, {count / seconds:,.0f}/s scoring (fit not included)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="reviews, one per line")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--result", default=str(ROOT / "benchmarks" / "results" / "score_file.json"))
    parser.add_argument("--run-nb-lr", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_nb_lr:
        return run_nb_lr(args.file, args.out)
    with open(args.file, "rb") as f:
        reviews = sum(1 for _ in f)
    entries = []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        runs = [(name, ["predict.py", "--model-dir", model_dir, "--file", args.file, "--out", str(work / f"{name}.jsonl")])
                for name, _, model_dir in (m.partition("=") for m in args.model)]
        runs.append(("NB-LR", [__file__, "--run-nb-lr", "--file", args.file, "--out", str(work / "NB-LR.jsonl")]))
        for name, argv_ in runs:
            status, seconds, peak = run_child(argv_, work / f"{name}.log")
            written = sum(1 for _ in open(work / f"{name}.jsonl")) if status == 0 else 0
            entry = {"name": name, "command": " ".join(["python", *argv_]), "status": status,
                     "wall_seconds": round(seconds, 1), "peak_rss_mib": round(peak, 1), "predictions": written,
                     "reviews_per_s_whole_process": round(written / seconds, 1), "last_line": last_line(work / f"{name}.log")}
            entries.append(entry)
            print(json.dumps(entry), flush=True)
    environment.write_json(args.result, {"environment": environment.describe(), "file_reviews": reviews,
                                         "file_bytes": os.path.getsize(args.file),
                                         "load_average_1min_end": round(os.getloadavg()[0], 2), "entries": entries})


if __name__ == "__main__":
    main()
