"""How long the commands take to answer `--help`, `--version` and a mistake: whole
processes, from start to exit, as a user meets them.

Each case is a fresh `python ...` process (the top-level scripts and `python -m
sentiment_lstm`), run `--runs` times in turn with every other case (round-robin, so
a slow spell of a shared machine falls on all of them alike); the median wall time
is reported, with min and max. Two reference processes give the scale: `python -c
pass` (the interpreter's own start-up) and `python -c "import tensorflow"` (what an
answer would cost if TensorFlow loaded first). Every case also checks its exit
status, so a case that stopped failing (or started) shows.

    python benchmarks/cli_latency.py [--runs 7] [--only TEXT] [--out benchmarks/results/cli_latency.json]

`--only "path error"` keeps the cases whose name contains that text (and the references).

With a trained model (`--model-dir`, by default `models/imdb_lstm`, what the README's
first command trains), it also times `predict` of one text and of three, and reports
how far each is beyond the bare TensorFlow import: the time a prediction costs of its
own (a one-off call runs the model eagerly, compiling nothing: `classify.Classifier`).
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import environment  # noqa: E402


EXAMPLES = ["Not good at all.", "Two hours I will not get back.", "A slow start, then superb."]


def cases(model_dir, trained=None):
    """name -> (arguments after `python`, expected exit status); with a `trained` model
    directory, the predictions too."""
    predictions = {} if trained is None else {
        "sentiment-lstm predict (one text)": (["-m", "sentiment_lstm", "predict", "--model-dir", trained,
                                               EXAMPLES[0]], 0),
        "sentiment-lstm predict (three texts)": (["-m", "sentiment_lstm", "predict", "--model-dir", trained,
                                                  *EXAMPLES], 0),
    }
    return {**predictions, 
        "reference: python -c pass": (["-c", "pass"], 0),
        "reference: import tensorflow": (["-c", "import tensorflow"], 0),
        "sentiment-lstm --help": (["-m", "sentiment_lstm", "--help"], 0),
        "sentiment-lstm --version": (["-m", "sentiment_lstm", "--version"], 0),
        "train.py --help": (["train.py", "--help"], 0),
        "evaluate.py --help": (["evaluate.py", "--help"], 0),
        "predict.py --help": (["predict.py", "--help"], 0),
        "train.py --epochs -1 (flag error)": (["train.py", "--epochs", "-1"], 2),
        "evaluate.py --limit -5 (flag error)": (["evaluate.py", "--limit", "-5"], 2),
        "predict.py (no reviews)": (["predict.py"], 2),
        "train.py --data no/such (path error)": (["train.py", "--data", "no/such/archive.tar.gz"], 1),
        "train.py --model-dir README.md (path error)": (["train.py", "--model-dir", "README.md"], 1),
        "evaluate.py --model-dir no/such (path error)": (["evaluate.py", "--model-dir", "no/such/model"], 1),
        "evaluate.py --model-dir README.md (path error)": (["evaluate.py", "--model-dir", "README.md"], 1),
        "evaluate.py --data no/such.csv (path error)": (["evaluate.py", "--model-dir", model_dir, "--data",
                                                          "no/such.csv"], 1),
        "predict.py --model-dir no/such (path error)": (["predict.py", "--model-dir", "no/such/model", "good"], 1),
        "predict.py --file no/such (path error)": (["predict.py", "--file", "no/such/reviews.txt"], 1),
    }


def time_once(args):
    """(wall seconds, exit status) of one `python *args` process in the repository root."""
    started = time.perf_counter()
    status = subprocess.run([sys.executable, *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.perf_counter() - started, status


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (default: %(default)s)")
    parser.add_argument("--only", help="time only the cases whose name contains this (and the references)")
    parser.add_argument("--model-dir", default=str(ROOT / "models" / "imdb_lstm"),
                        help="a trained model to time predict with (default: %(default)s; absent: not timed)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cli_latency.json"))
    args = parser.parse_args(argv)
    trained = args.model_dir if (Path(args.model_dir) / "config.json").is_file() else None
    if trained is None:
        print(f"No trained model in {args.model_dir}: predict is not timed (train one, or give --model-dir).")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text("{}")  # passes the path check; nothing loads it
        table = {name: case for name, case in cases(tmp, trained).items()
                 if args.only is None or args.only in name or name.startswith("reference")}
        for name, (command, _) in table.items():  # warm-up: the file cache, .pyc files
            time_once(command)
        times = {name: [] for name in table}
        for _ in range(args.runs):
            for name, (command, expected) in table.items():
                seconds, status = time_once(command)
                if status != expected:
                    raise SystemExit(f"{name}: exit status {status}, expected {expected}")
                times[name].append(seconds)
    results = {name: {"command": "python " + " ".join(table[name][0]).replace(tmp, "MODEL_DIR"),
                      "exit_status": table[name][1], "median_s": statistics.median(runs),
                      "min_s": min(runs), "max_s": max(runs)} for name, runs in times.items()}
    slowest = max((r["median_s"] for n, r in results.items()
                   if not n.startswith("reference") and "predict (" not in n), default=None)
    tensorflow = results["reference: import tensorflow"]["median_s"]
    beyond = {name: r["median_s"] - tensorflow for name, r in results.items() if "predict (" in name}
    environment.write_json(args.out, {"environment": environment.describe(), "runs": args.runs,
                                      "cases": results, "slowest_median_s": slowest,
                                      "predict_beyond_import_tensorflow_s": beyond})
    width = max(map(len, results))
    for name, r in results.items():
        print(f"{name:<{width}}  median {r['median_s']:.2f} s  (min {r['min_s']:.2f}, max {r['max_s']:.2f})")
    if slowest is not None:
        print(f"slowest command median (predictions aside): {slowest:.2f} s")
    print(f"written to {args.out}")
    for name, seconds in beyond.items():
        print(f"{name}: {seconds:+.2f} s beyond `import tensorflow`")


if __name__ == "__main__":
    main()
