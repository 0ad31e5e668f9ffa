"""The reference workloads, one command each: IMDB sentiment, 20 Newsgroups topics and TREC
question types, every model side by side in one run on one machine.

    python benchmarks/workloads.py --dataset trec        # -> benchmarks/results/workloads_trec.json, .md
    python benchmarks/workloads.py --dataset 20news
    python benchmarks/workloads.py --dataset imdb --tuned-units 128   # also the LSTM at tune's unit count
    python benchmarks/workloads.py --dataset trec --models tfidf nb-lr lstm --epochs 2   # a subset

A dataset is its recipe (`recipes/<dataset>.toml`, which names the training data) and
its test data (TREC: `trec/test.csv`; 20 Newsgroups and IMDB: the archive's test split;
IMDB's recipe is the default one); both are found in the local data folders (`sources.locate`). `--recipe` and `--test-data`
run the same entries on other data (the tests do, on a table they write).

Entries, in order:

    tfidf        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2) +
                 LogisticRegression(max_iter=1000), fit on the whole training data
    nb-lr        NB-LR one-vs-rest (`training/teacher.py`, the teacher of --teacher nb-lr)
    lstm         train.py --recipe <dataset>: our LSTM as the recipe sets it
    gru rnn      the same recipe with --cell gru, --cell rnn (our GRU, our simple RNN)
    keras-lstm   the same recipe with --cell keras-lstm (Keras' own LSTM layer)
    lstm-attention  the recipe with --pooling attention (additive attention over the LSTM's outputs)
    transformer  the recipe with --cell transformer --no-bidirectional: a Transformer encoder in
                 the LSTM's place (its pooling the recipe's, mean where the recipe takes the last state)
    lstm-tuned   with --tuned-units N: the recipe with --units N (the unit count `tune` chose)

The neural entries run as `benchmarks/imdb.py` runs them: `train.py` and `evaluate.py`
in processes of their own (validation carved from the training data by the recipe,
test accuracy and macro-F1 from evaluate's `metrics.json`), then the exported
SavedModel timed in a third (`imdb.py --run-one serve`): batch throughput over
`--inference-texts` test texts in batches of `--inference-batch`, single-text latency
p50/p99. The n-gram baselines run in this process, timed the same way.
"""
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks import imdb  # noqa: E402
from sentiment_lstm import cli  # noqa: E402
from sentiment_lstm.core import checks, config, recipe  # noqa: E402
from sentiment_lstm.core.errors import UserError  # noqa: E402

DATASETS = {  # name -> (recipe, test data: None for the test split of the training data, training data
    #                    where the recipe names none)
    "trec": ("trec", "trec/test.csv", None),
    "20news": ("20news", None, None),
    "imdb": ("default", None, "aclImdb_v1.tar.gz"),
}
ENTRIES = {  # name -> (label, train.py flags beside the recipe)
    "tfidf": ("TF-IDF + logistic regression", None),
    "nb-lr": ("NB-LR (one-vs-rest)", None),
    "lstm": ("ours: LSTM (the recipe)", []),
    "gru": ("ours: GRU", ["--cell", "gru"]),
    "rnn": ("ours: SimpleRNN", ["--cell", "rnn"]),
    "keras-lstm": ("Keras' LSTM", ["--cell", "keras-lstm"]),
    "lstm-attention": ("ours: LSTM, attention pooling", ["--pooling", "attention"]),
    "transformer": ("Transformer encoder", ["--cell", "transformer", "--no-bidirectional"]),
    "lstm-tuned": ("ours: LSTM, units chosen by tune", []),
}


def entry_flags(name, settings, args):
    """The train.py flags of entry `name` beside the recipe of `settings` (its values)."""
    flags = list(ENTRIES[name][1])
    if name == "transformer" and settings.get("pooling", "last") == "last":
        flags += ["--pooling", "mean"]
    if name == "lstm-tuned":
        flags += ["--units", str(args.tuned_units)]
    return flags


def make_parser():
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=list(DATASETS), required=True)
    parser.add_argument("--models", nargs="+", choices=list(ENTRIES), metavar="NAME",
                        help=f"entries to run, of {' '.join(ENTRIES)} (default: all; lstm-tuned with --tuned-units)")
    parser.add_argument("--tuned-units", type=config.parse_type("units"),
                        help="the unit count `sentiment-lstm tune` chose, for the lstm-tuned entry")
    parser.add_argument("--recipe", help="the neural entries' recipe (default: the dataset's)")
    parser.add_argument("--test-data", help="the test texts (default: the dataset's)")
    parser.add_argument("--epochs", type=config.parse_type("epochs"), help="maximum epochs (default: the recipe's)")
    parser.add_argument("--limit", type=config.parse_type("limit"), help="training texts (default: all)")
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--work-dir", default=str(ROOT / "benchmarks" / "out" / "workloads"))
    parser.add_argument("--inference-texts", type=checks.whole_number_argument(), default=2000)
    parser.add_argument("--inference-batch", type=checks.whole_number_argument(), default=256)
    parser.add_argument("--latency-calls", type=checks.whole_number_argument(), default=200)
    parser.add_argument("--warmup-calls", type=checks.whole_number_argument(), default=20)
    return parser


def macro_f1(truth, predicted, classes):
    from sklearn.metrics import f1_score

    return float(f1_score(truth, predicted, labels=list(range(classes)), average="macro", zero_division=0))


def ngram_entry(name, train, test, texts, args):
    """Fit and score the TF-IDF or NB-LR baseline in this process."""
    from sentiment_lstm.training import teacher

    start = time.perf_counter()
    if name == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        model = make_pipeline(TfidfVectorizer(**imdb.TFIDF), LogisticRegression(**imdb.LOGISTIC))
        model.fit(list(train.texts), np.asarray(train.labels))
        predict = model.predict_proba
    else:
        nb_lr = teacher.NBLR(list(train.texts), np.asarray(train.labels), num_classes=len(train.class_names))
        predict = nb_lr.predict_proba
    seconds = time.perf_counter() - start
    predicted = np.asarray(predict(list(test.texts))).argmax(axis=1)
    truth = np.asarray(test.labels)
    return {"test_accuracy": float((predicted == truth).mean()),
            "macro_f1": macro_f1(truth, predicted, len(train.class_names)), "train_seconds": seconds,
            **imdb.measure_inference(predict, texts, args.inference_batch, args.latency_calls, args.warmup_calls)}


def neural_entry(name, settings, work, texts_file, args):
    """Train, evaluate and serve one neural entry in processes of their own."""
    model_dir = work / name
    shutil.rmtree(model_dir, ignore_errors=True)
    train = ["train.py", "--recipe", settings["recipe"], *entry_flags(name, settings["values"], args),
             "--model-dir", imdb.relative(model_dir),
             *(["--epochs", str(args.epochs)] if args.epochs else []),
             *(["--limit", str(args.limit)] if args.limit else [])]
    evaluate = ["evaluate.py", "--model-dir", imdb.relative(model_dir),
                *(["--data", settings["test_data"]] if settings["test_data"] else [])]
    logs = work / "logs"
    train_seconds, _ = imdb.checked(train, logs / f"{name}.train.log", f"train.py for {name}")
    imdb.checked(evaluate, logs / f"{name}.evaluate.log", f"evaluate.py for {name}")
    metrics_file = next(p for p in sorted(model_dir.glob("metrics*.json")))
    metrics = json.loads(metrics_file.read_text())
    history = json.loads((model_dir / "history.json").read_text())
    result_file = work / f"{name}.serve.json"
    serve = ["benchmarks/imdb.py", "--run-one", "serve", "--model-dir", imdb.relative(model_dir),
             *imdb.inference_argv({"inference_batch": args.inference_batch, "latency_calls": args.latency_calls,
                                   "warmup_calls": args.warmup_calls}, texts_file, result_file)]
    imdb.checked(serve, logs / f"{name}.serve.log", f"serving {name}")
    served = json.loads(result_file.read_text())
    result_file.unlink()
    saved = json.loads((model_dir / "config.json").read_text())
    return {"test_accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "train_seconds": train_seconds,
            "epochs": len(history["epoch"]), "parameters": saved.get("parameters"),
            "command": imdb.command_line(train, evaluate), **served}


def markdown(results):
    lines = [f"# {results['dataset']}: test accuracy, training and serving", "",
             imdb.run_line(results["environment"]), "",
             f"Training data: {results['train_texts']:,} texts of {results['classes']} classes "
             f"(recipe `{results['recipe']}`); test: {results['test_texts']:,} texts.", "",
             f"Command: `{results['command']}`", "",
             "| model | test accuracy | macro-F1 | training time | epochs | parameters | batch throughput (texts/s) "
             "| latency p50 / p99 (ms) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for entry in results["models"]:
        if entry.get("error"):
            lines.append(f"| {entry['label']} | failed: {entry['error']} | | | | | | |")
            continue
        parameters = f"{entry['parameters']:,}" if entry.get("parameters") else "–"
        lines.append(f"| {entry['label']} | {100 * entry['test_accuracy']:.2f}% | {entry['macro_f1']:.4f} "
                     f"| {entry['train_seconds']:.0f} s | {entry.get('epochs') or '–'} | {parameters} "
                     f"| {entry['throughput_reviews_per_s']:,.0f} | {entry['latency_ms']['p50_ms']:.2f} / "
                     f"{entry['latency_ms']['p99_ms']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = make_parser().parse_args(argv)
    from benchmarks.environment import describe, write_json
    from sentiment_lstm.data import sources
    from sentiment_lstm.data.dataset import Dataset

    default_recipe, default_test, default_data = DATASETS[args.dataset]
    models = args.models or [name for name in ENTRIES if name != "lstm-tuned" or args.tuned_units]
    if "lstm-tuned" in models and not args.tuned_units:
        raise UserError("The lstm-tuned entry needs --tuned-units, the unit count `sentiment-lstm tune` chose.")
    name = args.recipe or default_recipe
    settings = recipe.load(name)
    data = sources.locate(settings.get("data") or default_data)
    test_data = sources.locate(args.test_data or default_test)
    if data is None:
        raise UserError(f"The recipe {name} names no data to train on.")
    columns = (settings.get("text_column"), settings.get("label_column"))
    for path in (data, test_data):
        sources.check(path, *columns)
    train = sources.load(data, "train", *columns)
    if args.limit:
        from sentiment_lstm.data.dataset import balanced_subset

        train = balanced_subset(train, args.limit, config.Config().seed)
    test = sources.load(test_data or data, "test", *columns)
    test = Dataset(test.texts, np.asarray([train.class_names.index(test.class_names[k]) for k in test.labels]),
                   train.class_names)  # the training data's class numbers
    order = np.random.default_rng(0).permutation(len(test.texts))[:args.inference_texts]
    texts = [test.texts[k] for k in order]
    work = Path(args.work_dir) / args.dataset
    work.mkdir(parents=True, exist_ok=True)
    texts_file = work / "inference_texts.json"
    texts_file.write_text(json.dumps(texts))
    run = {"recipe": name, "values": settings, "test_data": imdb.relative(test_data) if test_data else None}
    results = {"dataset": args.dataset, "recipe": name, "command": imdb.command_line(["benchmarks/workloads.py", *argv]),
               "environment": describe(), "train_texts": len(train.texts), "test_texts": len(test.texts),
               "classes": len(train.class_names), "models": []}
    out = Path(args.out_dir)
    try:
        for entry_name in dict.fromkeys(models):
            label = ENTRIES[entry_name][0]
            print(f"[{entry_name}] {label} ...", flush=True)
            entry = {"name": entry_name, "label": label}
            try:
                if ENTRIES[entry_name][1] is None:
                    entry.update(ngram_entry(entry_name, train, test, texts, args))
                else:
                    entry.update(neural_entry(entry_name, run, work, texts_file, args))
            except imdb.ChildFailed as failure:
                entry["error"] = str(failure)
            print(f"[{entry_name}] " + json.dumps({k: entry.get(k) for k in ("test_accuracy", "macro_f1",
                                                                             "train_seconds", "error")}), flush=True)
            results["models"].append(entry)
            write_json(out / f"workloads_{args.dataset}.json", results)
    finally:
        texts_file.unlink(missing_ok=True)
    (out / f"workloads_{args.dataset}.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    cli.run(main)
