"""IMDB in one command: accuracy, training cost and serving speed of every model, one machine.

    python benchmarks/imdb.py                 # full IMDB -> benchmarks/results/imdb.json, imdb.md
    python benchmarks/imdb.py --quick         # 2000 train / 2000 test reviews, 2 epochs -> benchmarks/out/
    python benchmarks/imdb.py --best-recipe path/to/recipe.toml

Entries, in order:

    tfidf        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2) +
                 LogisticRegression(max_iter=1000), fit on the whole training split (no tuning)
    nb-lr        NB-LR (sentiment_lstm/training/teacher.py, the teacher of train.py --teacher nb-lr),
                 fit on the whole training split: what a taught LSTM is measured against
    keras-lstm   the seed's model: train.py --recipe keras-lstm (keras.layers.LSTM)
    rnn gru      the project's layers: train.py --recipe rnn|gru, the defaults otherwise
    lstm         the project's LSTM, plain (the article's pipeline): train.py --recipe plain
    best         the best recipe: train.py --recipe <--best-recipe> (default: best, i.e.
                 recipes/best.toml; when its settings equal the lstm entry's, the lstm
                 run is reused)

Each neural model runs in its own processes, from the repository root: `train.py ...
--model-dir <work>/<name>` (validation split carved from the training split, early
stopping on it), `evaluate.py --model-dir ...` on the test split (its accuracy is the
reported one), then `imdb.py --run-one serve`, which times the exported SavedModel:
`tf.saved_model.load(dir/"saved_model").serve(tf.constant([...]))`. The TF-IDF and
NB-LR baselines each run in one process of their own (`--run-one tfidf|nb-lr`). Peak
RSS is each process's own, polled while it runs (`TreePeak`; importing the package
loads no TensorFlow, so no child loads Keras or TensorFlow beyond what it needs: none
for the n-gram baselines, the SavedModel's for serving). The results record each
neural entry's recipe (its name, file and contents) beside its train.py command.

Reported per entry: test accuracy; training wall time (the whole train.py process:
start-up, reading the archive, vocabulary, every epoch with its validation pass, and
the export; for TF-IDF the fit of vectorizer and classifier on loaded texts); epochs
run (`len(history.json["epoch"])`); peak RSS of training, evaluation and serving;
batch throughput (reviews/s over `--inference-reviews` test reviews in batches of
`--inference-batch`, median of 3 passes after one warm-up batch) and single-review
latency p50/p99 (`--latency-calls` calls of one review each after `--warmup-calls`).
"""
import argparse
import dataclasses
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as train.py: TensorFlow's C++ logs
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from sentiment_lstm.core.checks import whole_number_argument  # noqa: E402
from benchmarks.processes import ChildFailed, last_line, run_child  # noqa: E402
from sentiment_lstm import cli  # noqa: E402
from sentiment_lstm.core import config, recipe  # noqa: E402
from sentiment_lstm.core.errors import UserError  # noqa: E402

ENTRIES = {  # name -> (label in the table, its recipe in recipes/)
    "tfidf": ("TF-IDF + logistic regression", None),
    "nb-lr": ("NB-LR (the teacher of --teacher nb-lr)", None),
    "keras-lstm": ("seed: keras.layers.LSTM", "keras-lstm"),
    "rnn": ("ours: SimpleRNN", "rnn"),
    "gru": ("ours: GRU", "gru"),
    "lstm": ("ours: LSTM", "plain"),
    "best": ("best recipe (ours: LSTM)", None),  # the recipe of --best-recipe
}
NGRAM_ENTRIES = ("tfidf", "nb-lr")  # scikit-learn baselines, no train.py
QUICK = {"limit": 2000, "test_limit": 2000, "epochs": 2}
DEFAULT_BEST_RECIPE = "best"  # recipes/best.toml
# Config fields that name a run rather than shape it: runs differing only in them are alike.
RUN_NAMING = ("recipe", "name", "model_dir")
RESULTS_JSON = "imdb.json"
RESULTS_MD = "imdb.md"
DEFAULT_OUT = ROOT / "benchmarks" / "results"
SCRATCH = ROOT / "benchmarks" / "out"  # git-ignored
TFIDF = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2}
LOGISTIC = {"max_iter": 1000}
DASH = "–"


# ---------------------------------------------------------------------------------------
# Pure parts: flags, percentiles, TF-IDF, results, tables.


class _TrainParser(cli.ArgumentParser):
    """train.py's parser, whose mistakes become a `UserError`."""

    def error(self, message):
        raise UserError(f"train.py would reject its flags: {message}.")


def parse_train_flags(tokens):
    """The `Config` that train.py builds from the command-line `tokens` (a list):
    the defaults, then `--recipe`'s values, then the other flags given."""
    parser = config.make_parser(_TrainParser(prog="train.py", add_help=False))
    return recipe.from_args(parser.parse_args(list(tokens)))


def recipe_record(name_or_path):
    """What the results record of a recipe: `name` (as train.py's `--recipe` is given it:
    a name in recipes/, else the file's path from the repository root), `file`, the
    file's contents (`toml`) and its checked `values`.

    Raises:
        UserError: no such recipe, or a file `recipe.load` rejects.
    """
    path = recipe.path_of(name_or_path)
    values = recipe.load(path)
    named = path.resolve() == (recipe.recipes_dir() / f"{path.stem}.toml").resolve()
    return {"name": path.stem if named else relative(path), "file": relative(path),
            "toml": path.read_text(encoding="utf-8"), "values": values}


def best_recipe(name_or_path):
    """The `recipe_record` of the `--best-recipe` recipe, checked.

    Raises:
        UserError: in one sentence naming --best-recipe: no such recipe, a file that
            train.py would reject (which includes one setting the run options the
            benchmark sets itself, --model-dir, --data and --limit), or a cell other
            than lstm.
    """
    try:
        record = recipe_record(name_or_path)
        cell = config.Config(**record["values"]).cell
    except UserError as error:
        raise UserError(f"--best-recipe {name_or_path}: {error}") from None
    if cell != "lstm":
        raise UserError(f"--best-recipe {name_or_path} must keep cell = \"lstm\" (the best recipe "
                        f"is the project's LSTM), not cell = {cell!r}.")
    return record


def recipe_name(name, settings):
    """The `--recipe` of neural entry `name`."""
    return settings["best_recipe"]["name"] if name == "best" else ENTRIES[name][1]


def entry_config(name, settings):
    """The `Config` train.py builds for neural entry `name` (without --model-dir).

    Raises:
        UserError: train.py would reject the entry's flags (for the best recipe, with
            the benchmark's --epochs).
    """
    try:
        return parse_train_flags(train_flags(name, settings))
    except UserError as error:
        if name != "best":
            raise
        raise UserError(f"--best-recipe {settings['best_recipe']['name']}: {error}") from None


def same_training(first, second):
    """Whether Configs `first` and `second` train the same model (they may differ in the
    recipe they came from, the run's name and its directory)."""
    blank = {name: getattr(config.Config(), name) for name in RUN_NAMING}
    return dataclasses.replace(first, **blank) == dataclasses.replace(second, **blank)


def common_train_flags(settings):
    """The train.py flags every neural entry gets: data, training limit, epochs."""
    flags = []
    if settings["data"]:
        flags += ["--data", settings["data"]]
    if settings["limit"]:
        flags += ["--limit", str(settings["limit"])]
    if settings["epochs"]:
        flags += ["--epochs", str(settings["epochs"])]
    return flags


def train_flags(name, settings):
    """The train.py flags of neural entry `name` (without --model-dir): its recipe,
    then the benchmark's data, training limit and epochs, which override the recipe's."""
    return ["--recipe", recipe_name(name, settings), *common_train_flags(settings)]


def evaluate_flags(settings):
    flags = []
    if settings["data"]:
        flags += ["--data", settings["data"]]
    if settings["test_limit"]:
        flags += ["--limit", str(settings["test_limit"])]
    return flags


def python_display():
    """How to name this interpreter in a reproducible command."""
    try:
        return str(Path(sys.executable).relative_to(ROOT))
    except ValueError:
        return "python"


def relative(path):
    """`path` relative to the repository root when inside it (commands run from there)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def commands(name, settings, model_dir):
    """(train argv, evaluate argv) of neural entry `name`, run from the repository root."""
    model_dir = relative(model_dir)
    train = ["train.py", *train_flags(name, settings), "--model-dir", model_dir]
    evaluate = ["evaluate.py", "--model-dir", model_dir, *evaluate_flags(settings)]
    return train, evaluate


def command_line(*argvs):
    """One shell line running each argv (a script and its flags) in turn with `&&`."""
    python = python_display()
    return " && ".join(shlex.join([python, *argv]) for argv in argvs)


def latency_percentiles(seconds):
    """p50, p99 and mean of call durations `seconds`, in milliseconds (linear interpolation)."""
    ms = np.asarray(seconds, dtype=float) * 1000.0
    if ms.size == 0:
        raise ValueError("no latencies to summarise")
    p50, p99 = np.percentile(ms, [50, 99])
    return {"p50_ms": float(p50), "p99_ms": float(p99), "mean_ms": float(ms.mean()),
            "calls": int(ms.size)}


def measure_inference(predict, reviews, batch_size=256, latency_calls=200, warmup_calls=20,
                      passes=3):
    """Batch throughput and single-review latency of `predict(list of str) -> (n, 2)`.

    Throughput: the median over `passes` of len(reviews) / seconds to predict all of them
    in batches of `batch_size`, after one warm-up batch. Latency: `latency_calls` calls
    with one review each (cycling through `reviews`), after `warmup_calls` calls.
    """
    reviews = list(reviews)
    predict(reviews[:batch_size])
    rates = []
    for _ in range(passes):
        start = time.perf_counter()
        for k in range(0, len(reviews), batch_size):
            predict(reviews[k:k + batch_size])
        rates.append(len(reviews) / (time.perf_counter() - start))
    for k in range(warmup_calls):
        predict([reviews[k % len(reviews)]])
    durations = []
    for k in range(latency_calls):
        review = [reviews[k % len(reviews)]]
        start = time.perf_counter()
        predict(review)
        durations.append(time.perf_counter() - start)
    return {"throughput_reviews_per_s": float(np.median(rates)),
            "throughput_passes": [round(r, 1) for r in rates],
            "latency_ms": latency_percentiles(durations),
            "inference_reviews": len(reviews), "inference_batch": batch_size}


def tfidf_baseline(train_texts, train_labels, test_texts, test_labels):
    """Fit the TF-IDF + logistic regression baseline; return (pipeline, metrics).

    Metrics: `test_accuracy`, `train_seconds` (the fit, texts already in memory),
    `vocabulary_size`, `n_train`, `n_test`.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(TfidfVectorizer(**TFIDF), LogisticRegression(**LOGISTIC))
    start = time.perf_counter()
    pipeline.fit(list(train_texts), np.asarray(train_labels))
    seconds = time.perf_counter() - start
    predicted = pipeline.predict(list(test_texts))
    return pipeline, {
        "test_accuracy": float(accuracy_score(np.asarray(test_labels), predicted)),
        "train_seconds": seconds,
        "vocabulary_size": len(pipeline[0].vocabulary_),
        "n_train": len(train_texts), "n_test": len(test_texts),
    }


def nb_lr_baseline(train_texts, train_labels, test_texts, test_labels):
    """Fit NB-LR (`teacher.NBLR`, as `--teacher nb-lr` does); return (its class
    probabilities as a function of texts, metrics as `tfidf_baseline`'s)."""
    from sentiment_lstm.training import teacher

    start = time.perf_counter()
    nb_lr = teacher.NBLR(list(train_texts), np.asarray(train_labels))
    seconds = time.perf_counter() - start
    predicted = nb_lr.log_odds(list(test_texts)) > 0
    return (lambda texts: teacher.soft_targets(nb_lr.log_odds(texts))), {
        "test_accuracy": float(np.mean(predicted == np.asarray(test_labels))),
        "train_seconds": seconds,
        "vocabulary_size": len(nb_lr.ratios[0]),
        "n_train": len(train_texts), "n_test": len(test_texts),
    }


def best_summary(models, settings):
    """The top-level `best_custom_lstm` object: the best entry's figures and command."""
    entry = next((m for m in models if m["name"] == "best"), None)
    if entry is None:
        return None
    return {"test_accuracy": entry.get("test_accuracy"), "train_seconds": entry.get("train_seconds"),
            "epochs": entry.get("epochs"), "command": entry["command"],
            "train_flags": train_flags("best", settings),
            "recipe": settings["best_recipe"], "reused_from": entry.get("reused_from")}


def assemble(models, settings, environment, complete=True):
    """The results document (benchmarks/results/imdb.json)."""
    return {
        "benchmark": "imdb",
        "complete": complete,
        "best_custom_lstm": best_summary(models, settings),
        "commit": environment.get("commit"),
        "date": environment.get("date"),
        "cores": (environment.get("machine") or {}).get("cores"),
        "versions": environment.get("versions"),
        "environment": environment,
        "settings": settings,
        "models": models,
        "definitions": DEFINITIONS,
    }


DEFINITIONS = {
    "test_accuracy": "accuracy on the test split (or its balanced --test-limit slice, seed 0), "
                     "from evaluate.py's metrics.json; the test split is used for nothing else",
    "train_seconds": "wall time of the whole train.py process: interpreter and TensorFlow "
                     "start-up, reading the archive, vocabulary, every epoch with its "
                     "validation pass (none in a refit, --val-fraction 0), and the export of "
                     "model.keras and the SavedModel; "
                     "TF-IDF and NB-LR: the fit of vectorizer and classifier on texts already in memory",
    "epochs": "epochs run (len(history.json['epoch'])): early stopping on the validation split; "
              "a refit (--val-fraction 0) runs its --epochs",
    "peak_rss_mib": "peak resident memory of each process, polled (VmHWM): train.py, evaluate.py, "
                    "and the serving process that loads only the SavedModel; TF-IDF and NB-LR: "
                    "one process each fits, evaluates and serves",
    "throughput_reviews_per_s": "reviews per second through SavedModel.serve in batches "
                                "(TF-IDF and NB-LR: their scikit-learn class probabilities)",
    "latency_ms": "one review per call, wall time per call; p50/p99 by linear interpolation",
}

COLUMNS = ("model", "test accuracy", "train time (s)", "epochs", "peak RSS train (MiB)",
           "peak RSS serve (MiB)", "batch throughput (reviews/s)", "latency p50 (ms)",
           "latency p99 (ms)")


def _fmt(value, pattern):
    return DASH if value is None else pattern.format(value)


def table_row(entry):
    """One markdown table row of a results entry."""
    if entry.get("error"):
        cells = [entry["label"], "failed: " + entry["error"]] + [DASH] * (len(COLUMNS) - 2)
        return "| " + " | ".join(cells) + " |"
    rss = entry.get("peak_rss_mib") or {}
    latency = entry.get("latency_ms") or {}
    cells = [
        entry["label"],
        _fmt(None if entry.get("test_accuracy") is None else 100 * entry["test_accuracy"], "{:.2f}%"),
        _fmt(entry.get("train_seconds"), "{:.1f}"),
        _fmt(entry.get("epochs"), "{:d}"),
        _fmt(rss.get("train"), "{:.0f}"),
        _fmt(rss.get("serve"), "{:.0f}"),
        _fmt(entry.get("throughput_reviews_per_s"), "{:.0f}"),
        _fmt(latency.get("p50_ms"), "{:.2f}"),
        _fmt(latency.get("p99_ms"), "{:.2f}"),
    ]
    return "| " + " | ".join(cells) + " |"


def markdown_table(models):
    """The results table: a header, an alignment row and one row per entry."""
    header = "| " + " | ".join(COLUMNS) + " |"
    align = "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"
    return "\n".join([header, align, *(table_row(m) for m in models)])


def lstm_verdict(models):
    """Sentences answering: is our LSTM better than SimpleRNN and GRU here, at what latency?"""
    by_name = {m["name"]: m for m in models if not m.get("error")}
    lstm = by_name.get("lstm")
    others = [by_name[n] for n in ("rnn", "gru") if n in by_name]
    if lstm is None or not others or lstm.get("test_accuracy") is None:
        return []
    lines = []
    for other in others:
        gap = 100 * (lstm["test_accuracy"] - other["test_accuracy"])
        word = "better" if gap > 0 else "worse" if gap < 0 else "as good"
        ratio = lstm["latency_ms"]["p50_ms"] / other["latency_ms"]["p50_ms"]
        lines.append(
            f"- LSTM vs {other['label'].split(': ')[-1]}: {word} by {abs(gap):.2f} points "
            f"({100 * lstm['test_accuracy']:.2f}% vs {100 * other['test_accuracy']:.2f}%); "
            f"latency p50 {lstm['latency_ms']['p50_ms']:.2f} ms vs "
            f"{other['latency_ms']['p50_ms']:.2f} ms ({ratio:.2f}x), "
            f"throughput {lstm['throughput_reviews_per_s']:.0f} vs "
            f"{other['throughput_reviews_per_s']:.0f} reviews/s.")
    return lines


def describe_data(settings):
    train = f"{settings['limit']} training reviews" if settings["limit"] else "all 25,000 training reviews"
    test = f"{settings['test_limit']} test reviews" if settings["test_limit"] else "all 25,000 test reviews"
    epochs = (f"at most {settings['epochs']} epochs" if settings["epochs"]
              else f"train.py's epochs (at most {config.Config().epochs}, early stopping)")
    fraction = config.Config().val_fraction
    best = settings["best_recipe"]["values"].get("val_fraction", fraction)  # the benchmark sets no split
    refit = "" if best == fraction else (
        "; the best recipe: all, its epochs fixed by --epochs, no early stopping" if best == 0
        else f"; the best recipe: {1 - best:.0%} train, {best:.0%} validation")
    return (f"{train} (neural models: {1 - fraction:.0%} train, {fraction:.0%} validation{refit}; "
            f"TF-IDF and NB-LR: all), {test}, {epochs}")


def run_line(env):
    """"Commit abc (with uncommitted changes), date; CPU, 2 cores; versions." of `environment.describe()`."""
    machine = env.get("machine") or {}
    return (f"Commit {env.get('commit', 'unknown')[:12]}"
            + (" (with uncommitted changes)" if env.get("uncommitted_changes") else "")
            + f", {env.get('date')}; {describe_cpu(machine)}, {machine.get('cores')} cores; "
            + ", ".join(f"{k} {v}" for k, v in (env.get("versions") or {}).items()) + ".")


def describe_cpu(machine):
    """"AMD EPYC (family/model 25/1; avx, avx2, fma)", or as much of it as was recorded."""
    details = [f"family/model {machine['cpu_family_model']}"] if machine.get("cpu_family_model") else []
    if machine.get("vector_extensions"):
        details.append(", ".join(machine["vector_extensions"]))
    return f"{machine.get('cpu')}" + (f" ({'; '.join(details)})" if details else "")


def markdown_report(results):
    """The markdown report (imdb.md): what ran where, the table, the answer, and the definitions."""
    env = results["environment"]
    machine = env.get("machine") or {}
    versions = env.get("versions") or {}
    commit = (results.get("commit") or "unknown")[:12]
    dirty = " (with uncommitted changes)" if env.get("uncommitted_changes") else ""
    settings = results["settings"]
    lines = [
        "# IMDB benchmark" + ("" if results["complete"] else " (incomplete)"),
        "",
        f"Commit {commit}{dirty}, {results.get('date')}; {describe_cpu(machine)}, "
        f"{machine.get('cores')} cores; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        f"Data: {describe_data(settings)}." + (" Quick mode." if settings.get("quick") else ""),
        "",
        "Command: `" + settings["command"] + "`",
        "",
        markdown_table(results["models"]),
        "",
    ]
    verdict = lstm_verdict(results["models"])
    if verdict:
        lines += ["Is the LSTM better than the simple RNN and the GRU here, and what does it "
                  "cost in latency?", "", *verdict, ""]
    best = results.get("best_custom_lstm")
    if best:
        lines += [f"Best recipe `{best['recipe']['file']}`: `{best['command']}`"
                  + (f" (same settings as the {best['reused_from']} entry, whose run it reuses)"
                     if best.get("reused_from") else ""), "",
                  "```toml", best["recipe"]["toml"].rstrip("\n"), "```", ""]
    lines += ["Definitions:", ""]
    lines += [f"- {name}: {text}." for name, text in DEFINITIONS.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Processes.


def checked(argv, log_path, what):
    status, seconds, rss = run_child(argv, log_path)
    if status != 0:
        raise ChildFailed(f"{what} exited with status {status} ({last_line(log_path)}; "
                          f"log: {relative(log_path)})")
    return seconds, rss


def inference_argv(settings, reviews_file, result_file):
    return ["--inference-batch", str(settings["inference_batch"]),
            "--latency-calls", str(settings["latency_calls"]),
            "--warmup-calls", str(settings["warmup_calls"]),
            "--reviews-file", relative(reviews_file), "--result", relative(result_file)]


def ngram_data_flags(settings):
    return [*(["--data", settings["data"]] if settings["data"] else []),
            *(["--limit", str(settings["limit"])] if settings["limit"] else []),
            *(["--test-limit", str(settings["test_limit"])] if settings["test_limit"] else [])]


def entry_command(name, settings, work):
    """The command line that reproduces entry `name`'s figures."""
    if name in NGRAM_ENTRIES:
        return command_line(["benchmarks/imdb.py", "--models", name, *ngram_data_flags(settings)])
    return command_line(*commands(name, settings, work / name))


def run_ngram(name, settings, work, reviews_file):
    result_file = work / f"{name}.result.json"
    argv = ["benchmarks/imdb.py", "--run-one", name, *ngram_data_flags(settings),
            *inference_argv(settings, reviews_file, result_file)]
    _, rss = checked(argv, work / "logs" / f"{name}.log", f"The {ENTRIES[name][0]} run")
    result = json.loads(result_file.read_text())
    result_file.unlink()
    return {**result, "epochs": None, "peak_rss_mib": {"train": rss, "evaluate": None, "serve": None}}


def run_neural(name, settings, work, reviews_file):
    model_dir = work / name
    train, evaluate = commands(name, settings, model_dir)
    for stale in (model_dir, model_dir.with_name(model_dir.name + ".work")):
        if (stale / "config.json").is_file():  # an earlier model, or an interrupted run's backup
            shutil.rmtree(stale)
    logs = work / "logs"
    train_seconds, train_rss = checked(train, logs / f"{name}.train.log", f"train.py for {name}")
    history = json.loads((model_dir / "history.json").read_text())
    _, eval_rss = checked(evaluate, logs / f"{name}.evaluate.log", f"evaluate.py for {name}")
    metrics = json.loads((model_dir / "metrics.json").read_text())
    result_file = work / f"{name}.serve.json"
    serve = ["benchmarks/imdb.py", "--run-one", "serve", "--model-dir", relative(model_dir),
             *inference_argv(settings, reviews_file, result_file)]
    _, serve_rss = checked(serve, logs / f"{name}.serve.log", f"serving {name}")
    served = json.loads(result_file.read_text())
    result_file.unlink()
    if not settings["keep_models"]:
        shutil.rmtree(model_dir, ignore_errors=True)
    return {
        "test_accuracy": metrics["accuracy"], "test_metrics": metrics,
        "train_seconds": train_seconds, "epochs": len(history["epoch"]),
        "final_val_accuracy": history["val_accuracy"][-1] if history.get("val_accuracy") else None,
        "peak_rss_mib": {"train": train_rss, "evaluate": eval_rss, "serve": serve_rss},
        **served,
        "model_dir": relative(model_dir) if settings["keep_models"] else None,
    }


def run_entry(name, settings, work, reviews_file, done):
    label = ENTRIES[name][0]
    print(f"[{name}] {label} ...", flush=True)
    entry = {"name": name, "label": label, "command": entry_command(name, settings, work)}
    try:
        if name in NGRAM_ENTRIES:
            entry.update(run_ngram(name, settings, work, reviews_file))
        else:
            twin = reusable_twin(name, settings, done)
            if twin is not None:
                skip = ("name", "label", "command", "recipe", "hyperparameters")
                entry.update({k: v for k, v in twin.items() if k not in skip})
                entry["reused_from"] = twin["name"]
                print(f"[{name}] same settings as {twin['name']}: its run is reused", flush=True)
            else:
                entry.update(run_neural(name, settings, work, reviews_file))
            entry["recipe"] = (settings["best_recipe"] if name == "best"
                               else recipe_record(recipe_name(name, settings)))
            entry["hyperparameters"] = dataclasses.asdict(entry_config(name, settings))
    except ChildFailed as failure:
        entry["error"] = str(failure)
        print(f"[{name}] FAILED: {failure}", flush=True)
        return entry
    print(f"[{name}] " + table_row(entry), flush=True)
    return entry


def reusable_twin(name, settings, done):
    """A finished entry whose train.py Config is that of `name` but for its recipe's
    and run's names (`same_training`: the best recipe `default` is the lstm entry),
    or None."""
    if name != "best":
        return None
    mine = entry_config("best", settings)
    for entry in done:
        if entry["name"] in ("lstm",) and not entry.get("error"):
            if same_training(entry_config(entry["name"], settings), mine):
                return entry
    return None


# ---------------------------------------------------------------------------------------
# The children (--run-one).


def run_one_ngram(args):
    from sentiment_lstm.data import imdb

    source = imdb.resolve_source(args.data)
    train = imdb.load_reviews(source, "train", limit=args.limit, seed=config.Config().seed)
    test = imdb.load_reviews(source, "test", limit=args.test_limit, seed=0)
    baseline = tfidf_baseline if args.run_one == "tfidf" else nb_lr_baseline
    predict, metrics = baseline(train.texts, train.labels, test.texts, test.labels)
    predict = getattr(predict, "predict_proba", predict)
    reviews = json.loads(Path(args.reviews_file).read_text())
    metrics.update(measure_inference(predict, reviews, args.inference_batch,
                                     args.latency_calls, args.warmup_calls))
    metrics["tensorflow_loaded"] = "tensorflow" in sys.modules
    Path(args.result).write_text(json.dumps(metrics))


def run_one_serve(args):
    import tensorflow as tf

    path = Path(args.model_dir) / "saved_model"
    if not path.is_dir():
        raise UserError(f"{args.model_dir} has no saved_model/ folder to serve.")
    loaded = tf.saved_model.load(str(path))  # keep it: `serve` needs its variables alive
    reviews = json.loads(Path(args.reviews_file).read_text())
    result = measure_inference(lambda batch: loaded.serve(tf.constant(batch)).numpy(), reviews,
                               args.inference_batch, args.latency_calls, args.warmup_calls)
    Path(args.result).write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------
# The command.


def make_parser():
    parser = cli.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Quick mode: --limit 2000 --test-limit 2000 --epochs 2, outputs in benchmarks/out/.")
    parser.add_argument("--quick", action="store_true",
                        help="a slice for a check in minutes: " + ", ".join(
                            f"--{config.flag_name(k)} {v}" for k, v in QUICK.items()))
    parser.add_argument("--limit", type=config.parse_type("limit"),
                        help="training reviews, balanced (default: all 25,000)")
    parser.add_argument("--test-limit", type=config.parse_type("limit"),
                        help="test reviews, balanced (default: all 25,000)")
    parser.add_argument("--epochs", type=config.parse_type("epochs"),
                        help="maximum epochs of every neural model (default: train.py's)")
    parser.add_argument("--best-recipe", default=DEFAULT_BEST_RECIPE, metavar="NAME_OR_PATH",
                        help="the best entry's recipe: a name in recipes/ or a .toml file; its "
                             "cell must be lstm, and --limit, --epochs and --data override it "
                             "(default: %(default)s, i.e. recipes/best.toml)")
    parser.add_argument("--models", nargs="+", choices=list(ENTRIES), default=list(ENTRIES),
                        metavar="NAME", help=f"entries to run, of {' '.join(ENTRIES)} (default: all)")
    parser.add_argument("--data", help="IMDB archive or aclImdb/ folder (default: found automatically)")
    parser.add_argument("--out-dir", help=f"where {RESULTS_JSON} and {RESULTS_MD} go (default: "
                                          "benchmarks/results/, or benchmarks/out/ on a slice)")
    parser.add_argument("--work-dir", help="models and logs (default: benchmarks/out/imdb)")
    parser.add_argument("--keep-models", action="store_true", help="keep the trained models")
    parser.add_argument("--inference-reviews", type=whole_number_argument(), default=2000,
                        help="test reviews timed through the models (default: %(default)s)")
    parser.add_argument("--inference-batch", type=whole_number_argument(), default=256,
                        help="reviews per batch for throughput (default: %(default)s)")
    parser.add_argument("--latency-calls", type=whole_number_argument(), default=200,
                        help="timed single-review calls (default: %(default)s)")
    parser.add_argument("--warmup-calls", type=whole_number_argument(), default=20,
                        help="untimed single-review calls first (default: %(default)s)")
    # Internal: one child process of the benchmark.
    parser.add_argument("--run-one", choices=(*NGRAM_ENTRIES, "serve"), help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--reviews-file", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def settings_from(args, argv):
    quick = args.quick
    settings = {
        "quick": quick,
        "limit": args.limit if args.limit is not None else (QUICK["limit"] if quick else None),
        "test_limit": (args.test_limit if args.test_limit is not None
                       else (QUICK["test_limit"] if quick else None)),
        "epochs": args.epochs if args.epochs is not None else (QUICK["epochs"] if quick else None),
        "best_recipe": best_recipe(args.best_recipe),
        "data": None if args.data is None else relative(Path(args.data).expanduser()),
        "models": list(dict.fromkeys(args.models)),
        "inference_reviews": args.inference_reviews,
        "inference_batch": args.inference_batch,
        "latency_calls": args.latency_calls,
        "warmup_calls": args.warmup_calls,
        "keep_models": args.keep_models,
        "command": command_line(["benchmarks/imdb.py", *argv]),
    }
    full = settings["limit"] is None and settings["test_limit"] is None
    settings["out_dir"] = relative(args.out_dir or (DEFAULT_OUT if full else SCRATCH))
    settings["work_dir"] = relative(args.work_dir or SCRATCH / "imdb")
    if "best" in settings["models"]:
        entry_config("best", settings)  # train.py would take its flags (e.g. with --epochs)
    return settings


def write_results(settings, models, environment, complete):
    results = assemble(models, settings, environment, complete)
    from benchmarks.environment import write_json

    out = ROOT / settings["out_dir"]
    write_json(out / RESULTS_JSON, results)
    markdown = out / RESULTS_MD
    tmp = markdown.with_name(markdown.name + ".tmp")
    tmp.write_text(markdown_report(results))
    os.replace(tmp, markdown)
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.run_one in NGRAM_ENTRIES:
        return run_one_ngram(args)
    if args.run_one == "serve":
        return run_one_serve(args)
    try:
        settings = settings_from(args, argv)
    except UserError as error:  # a bad --best-recipe is a bad command line
        parser.error(str(error))

    from sentiment_lstm.data import imdb

    source = imdb.resolve_source(settings["data"])  # a missing path fails here, in one sentence
    if source == "tfds" and settings["data"] is None:
        raise UserError("No local copy of IMDB was found; pass --data PATH to aclImdb_v1.tar.gz "
                        "or an aclImdb/ folder.")
    work = ROOT / settings["work_dir"]
    work.mkdir(parents=True, exist_ok=True)
    count = min(settings["inference_reviews"], settings["test_limit"] or settings["inference_reviews"])
    test = imdb.load_reviews(source, "test", limit=count, seed=0)
    order = np.random.default_rng(0).permutation(len(test.texts))  # mixed lengths and classes
    reviews_file = work / "inference_reviews.json"
    reviews_file.write_text(json.dumps([test.texts[k] for k in order]))

    from benchmarks.environment import describe

    environment = describe()
    print(f"IMDB benchmark: {describe_data(settings)}; models and logs in {settings['work_dir']}/",
          flush=True)
    models = []
    try:
        for name in settings["models"]:
            models.append(run_entry(name, settings, work, reviews_file, models))
            write_results(settings, models, environment, complete=False)
    finally:
        reviews_file.unlink(missing_ok=True)
    write_results(settings, models, environment, complete=True)
    out = settings["out_dir"]
    print(f"\n{markdown_table(models)}\n\nwrote {out}/{RESULTS_JSON} and {out}/{RESULTS_MD}")
    failed = [m["name"] for m in models if m.get("error")]
    if failed:
        raise UserError(f"{len(failed)} of {len(models)} entries failed ({', '.join(failed)}); "
                        f"their logs are in {settings['work_dir']}/logs/.")


if __name__ == "__main__":
    cli.run(main)
