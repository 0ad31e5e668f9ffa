"""The teacher's share of training time: its features, and where it runs, side by side.

Two measurements on the training split of the default recipe's data (IMDB: 22,500
reviews after the validation split), in one run, `--rounds` rounds taken in turn:

1. **Features.** NB-LR's unigram and bigram indicators by scikit-learn's
   `CountVectorizer` and by `bag_of_ngrams.BagOfNgrams` (the teacher's), seconds of
   `fit_transform` each; the two matrices are checked equal first.
2. **Beside the preparation.** What training does before its first batch: the teacher
   (`teacher.taught_targets` on the default's 44,944 crops) and the rest (the vocabulary,
   tokens of the 67,444 texts to fit on, the n-gram counts: `loop.adapt_vocabulary`,
   `tokenizer.tokenize`, `ngrams.frequent`), one after the other, with the teacher in a
   thread, and with it in a second process (`core.background`, as `train` does). Wall
   seconds of the whole and of the rest alone.

    python benchmarks/teacher_speed.py [--rounds 3] [--out benchmarks/results/teacher_speed.json]
"""
import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks import environment  # noqa: E402
from sentiment_lstm.core import background, checks, files, recipe  # noqa: E402
from sentiment_lstm.core.config import Config  # noqa: E402

ARMS = ("one after the other", "teacher in a thread", "teacher in a second process")


def make_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=checks.whole_number_argument(), default=3)
    parser.add_argument("--data", default=None, help="IMDB's archive or folder (default: the default recipe's)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "teacher_speed.json"))
    return parser


def features(texts, rounds):
    """`{name: [seconds of each round]}` of the two featurizers' `fit_transform` on `texts`."""
    from sklearn.feature_extraction.text import CountVectorizer

    from sentiment_lstm.training.bag_of_ngrams import TOKENS, BagOfNgrams, preprocess

    makers = {"CountVectorizer": lambda: CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=TOKENS,
                                                         preprocessor=preprocess),
              "BagOfNgrams": BagOfNgrams}
    ours, theirs = (makers[name]().fit_transform(texts) for name in ("BagOfNgrams", "CountVectorizer"))
    if ours.shape != theirs.shape or (ours != theirs).nnz:
        raise SystemExit("BagOfNgrams and CountVectorizer gave different matrices")
    seconds = {name: [] for name in makers}
    for _ in range(rounds):
        for name, make in makers.items():
            started = time.perf_counter()
            make().fit_transform(texts)
            seconds[name].append(time.perf_counter() - started)
    return seconds, {"texts": len(texts), "columns": ours.shape[1], "nonzeros": int(ours.nnz)}


def preparation(config, train, fit_texts, crop_texts, arm):
    """`(whole, rest)`: wall seconds of the teacher and the rest together under `arm`, and of the rest."""
    from sentiment_lstm.model import ngrams
    from sentiment_lstm.text import tokenizer
    from sentiment_lstm.training import loop, teacher

    task = (teacher.taught_targets, list(train.texts), np.asarray(train.labels), train.num_classes, crop_texts)

    def rest():
        with_time = time.perf_counter()
        vectorizer = loop.adapt_vocabulary(train, config)
        tokens = tokenizer.tokenize(fit_texts, vectorizer, config.max_length)
        ngrams.frequent(tokens[:len(train)], vectorizer.vocabulary_size())
        return time.perf_counter() - with_time

    started = time.perf_counter()
    if arm == ARMS[0]:
        task[0](*task[1:])
        rest_seconds = rest()
    elif arm == ARMS[1]:
        thread = threading.Thread(target=task[0], args=task[1:])
        thread.start()
        rest_seconds = rest()
        thread.join()
    else:
        pending = background.start(*task)
        rest_seconds = rest()
        pending()
    return time.perf_counter() - started, rest_seconds


def markdown(results):
    env, lines = results["environment"], []
    cpu = env["machine"]
    lines += [f"Commit {env['commit'][:12]}{' (with uncommitted changes)' if env['uncommitted_changes'] else ''}, "
              f"{env['date']}; {cpu.get('cpu', '?')}, {cpu['cores']} cores; "
              + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + ".", "",
              f"Command: `{results['command']}`", "",
              f"Features of {results['features_of']['texts']:,} texts ({results['features_of']['columns']:,} columns, "
              f"{results['features_of']['nonzeros']:,} ones), the same matrix:", "",
              "| featurizer | seconds, each round | median | × CountVectorizer's speed |", "|---|---|---:|---:|"]
    reference = statistics.median(results["features"]["CountVectorizer"])
    for name, seconds in results["features"].items():
        median = statistics.median(seconds)
        rounds = ", ".join(f"{s:.1f}" for s in seconds)
        lines.append(f"| `{name}` | {rounds} | {median:.1f} s | {reference / median:.2f}× |")
    lines += ["", "The teacher beside the rest of the preparation (vocabulary, tokens, n-gram counts):", "",
              "| where the teacher runs | whole, each round (s) | the rest alone, each round (s) | median whole | "
              "median rest |", "|---|---|---|---:|---:|"]
    for arm in ARMS:
        whole = [w for w, _ in results["preparation"][arm]]
        rest = [r for _, r in results["preparation"][arm]]
        lines.append(f"| {arm} | {', '.join(f'{s:.1f}' for s in whole)} | {', '.join(f'{s:.1f}' for s in rest)} | "
                     f"{statistics.median(whole):.1f} s | {statistics.median(rest):.1f} s |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = make_parser().parse_args(argv)
    from sentiment_lstm.data import sources
    from sentiment_lstm.data.dataset import concatenate
    from sentiment_lstm.training import loop

    config = Config(**{**recipe.load("default"), **({"data": args.data} if args.data else {})})
    train, _ = sources.training_data(config)
    taught, cropped = loop.texts_to_fit(config, train, None)
    if cropped is None:
        raise SystemExit(f"The texts of {train.source} are all a crop's length: the teacher has nothing to teach.")
    fit_texts = list(concatenate(taught, cropped).texts)
    seconds, shape = features(list(train.texts), args.rounds)
    preparation(config, train, fit_texts, list(cropped.texts), ARMS[0])  # warm-up: TensorFlow's first calls
    prepared = {arm: [] for arm in ARMS}
    for _ in range(args.rounds):
        for arm in ARMS:
            prepared[arm].append(preparation(config, train, fit_texts, list(cropped.texts), arm))
    results = {"command": "python benchmarks/teacher_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "environment": environment.describe(), "features": seconds, "features_of": shape,
               "preparation": prepared}
    environment.write_json(args.out, results)
    table = Path(args.out).with_suffix(".md")
    with files.atomic_file(table) as staged:
        Path(staged).write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
