"""How IMDB models read a sentence: accuracy on customer-review sentences, side by side.

Models trained on whole movie reviews (~230 words) meet single sentences in the demo
page, `predict` and the server. This scores, in one run:

- every trained model directory given (`--models`: ours, trained on IMDB by any recipe),
- TF-IDF + logistic regression and NB-LR (`training/teacher.py`), fitted here on the same
  22,500 training reviews as the models (the default split: seed 1337, 10% held out),
- always answering the majority class of the sentences (the floor),

on three sets of texts:

- `sentences`: Hu & Liu's 3,771 customer-review sentences (`--sentences`, out of domain;
  never used to train or to choose a setting),
- `imdb_validation`: the 2,500 held-out IMDB validation reviews, whole,
- `validation_crops`: one crop of each of them a sentence or a phrase long
  (`data/crops.py`, seed 0), labelled as its review (a noisy label, the same for all).

    python benchmarks/short_texts.py --models models/imdb_lstm models/imdb_best \
        [--out benchmarks/results/short_texts.json]

The test split is not read.
"""
import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import environment  # noqa: E402
from benchmarks.imdb import LOGISTIC, TFIDF  # noqa: E402
from sentiment_lstm.core.config import Config  # noqa: E402
from sentiment_lstm.data import crops, sources  # noqa: E402

SENTENCES = ROOT.parent / "shared" / "data" / "short" / "customer_reviews.csv"


def read_sentences(path):
    """`(texts, labels)` of a `text,label` CSV."""
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def accuracy(predicted, names, truth):
    """The share of `truth` (class names) that the `predicted` class indices name (`names`)."""
    return float(np.mean([names[k] == t for k, t in zip(predicted, truth)]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=[], metavar="DIR", help="trained IMDB model directories")
    parser.add_argument("--sentences", default=str(SENTENCES), help="a text,label CSV (default: %(default)s)")
    parser.add_argument("--data", default=None, help="IMDB's archive or aclImdb/ folder (default: found)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "short_texts.json"))
    args = parser.parse_args(argv)

    sentences, sentence_labels = read_sentences(args.sentences)
    train, validation = sources.training_data(Config(data=args.data))
    names = list(train.class_names)
    cut, origin = crops.crops(validation.texts, 1, seed=0)
    sets = {"sentences": (sentences, sentence_labels),
            "imdb_validation": (validation.texts, [names[k] for k in validation.labels]),
            "validation_crops": (cut, [names[k] for k in validation.labels[origin]])}
    results = {}
    majority = max(set(sentence_labels), key=sentence_labels.count)
    results["always the majority class"] = {
        name: float(np.mean([label == majority for label in labels])) for name, (_, labels) in sets.items()}

    from sklearn.linear_model import LogisticRegression
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from sentiment_lstm.training import teacher

    started = time.perf_counter()
    tfidf = make_pipeline(TfidfVectorizer(**TFIDF), LogisticRegression(**LOGISTIC)).fit(train.texts, train.labels)
    results["TF-IDF + logistic regression"] = {
        name: accuracy(tfidf.predict(texts), names, labels) for name, (texts, labels) in sets.items()}
    print(f"TF-IDF fitted and scored ({time.perf_counter() - started:.0f} s)", flush=True)
    started = time.perf_counter()
    nb_lr = teacher.NBLR(train.texts, train.labels, train.num_classes)
    results["NB-LR"] = {name: accuracy(nb_lr.predict_proba(texts).argmax(1), names, labels)
                        for name, (texts, labels) in sets.items()}
    print(f"NB-LR fitted and scored ({time.perf_counter() - started:.0f} s)", flush=True)

    if args.models:
        import sentiment_lstm

    for directory in args.models:
        classifier = sentiment_lstm.load(directory)
        recipe = json.loads((Path(directory) / "config.json").read_text())["hyperparameters"].get("recipe")
        key = f"{Path(directory).name} (recipe {recipe or 'flags'})"
        results[key] = {name: accuracy(classifier.predict_proba(texts).argmax(1), classifier.labels, labels)
                        for name, (texts, labels) in sets.items()}
        print(f"{key} scored", flush=True)

    environment.write_json(args.out, {"environment": environment.describe(), "sentences": args.sentences,
                                      "texts": {name: len(texts) for name, (texts, _) in sets.items()},
                                      "models": args.models, "accuracy": results})
    print("\n| model | customer-review sentences | IMDB validation | validation crops |\n|---|---:|---:|---:|")
    for key, figures in results.items():
        print(f"| {key} | " + " | ".join(f"{100 * figures[name]:.2f}%" for name in sets) + " |")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
