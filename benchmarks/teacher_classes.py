"""Which NB-LR teaches better with more than two classes: one-vs-rest, or one multinomial
regression on NB-scaled indicators.

    python benchmarks/teacher_classes.py                  # -> benchmarks/results/teacher_classes.json
    python benchmarks/teacher_classes.py --students       # also trains a student under each teacher

On 20 Newsgroups' training split (the shared archive) less a seeded, stratified 10%
validation split, each teacher is fitted on the training texts and scored on the
validation texts: accuracy, log loss (what a teacher hands its student is its
probabilities, so their calibration counts) and fit time.

    ovr          the package's teacher (`training/teacher.NBLR`): per class k, the NB
                 log-count ratios of k against the rest and a logistic regression of
                 "k or not" on the indicators scaled by them; sigmoids normalised
    multinomial  one multinomial logistic regression on the indicators, each scaled by
                 its largest NB log-count ratio over the classes, max_k |r_k|
    plain        one multinomial logistic regression on the unscaled indicators

With `--students`, a quarter of the training texts keep their labels and the rest
become unlabeled texts; the default LSTM recipe is trained on the labeled quarter
alone and taught by each teacher on the rest (`--teacher nb-lr`), and scored on the
same validation texts.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy import sparse, special  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402

from benchmarks import environment  # noqa: E402
from sentiment_lstm.core.config import Config  # noqa: E402
from sentiment_lstm.data import folders  # noqa: E402
from sentiment_lstm.data.dataset import split_validation  # noqa: E402
from sentiment_lstm.training import teacher  # noqa: E402
from sentiment_lstm.training.bag_of_ngrams import BagOfNgrams  # noqa: E402

DEFAULT_DATA = environment.ROOT.parent / "shared" / "data" / "20news-bydate.tar.gz"


class Multinomial:
    """One multinomial regression on the package teacher's indicators, each scaled by
    max_k |r_k| (`scaled`), or unscaled."""

    def __init__(self, texts, labels, num_classes=None, C=1.0, scaled=True):
        y = np.asarray(labels)
        num_classes = int(y.max()) + 1 if num_classes is None else num_classes
        self.vectorizer = BagOfNgrams()
        X = self.vectorizer.fit_transform(texts)
        ratios = [teacher.log_count_ratios(np.asarray(X[y == k].sum(0)).ravel(), np.asarray(X[y != k].sum(0)).ravel())
                  for k in range(num_classes)]
        self._scale = sparse.diags(np.abs(np.stack(ratios)).max(axis=0) if scaled else np.ones(X.shape[1]))
        self.classifier = LogisticRegression(C=C, max_iter=3000).fit(X @ self._scale, y)

    def predict_proba(self, texts):
        scores = self.classifier.decision_function(self.vectorizer.transform(texts) @ self._scale)
        return special.softmax(scores, axis=1).astype(np.float32)


TEACHERS = {"ovr": teacher.NBLR, "multinomial": Multinomial,
            "plain": lambda texts, labels, num_classes=None: Multinomial(texts, labels, num_classes, scaled=False)}


def score_teachers(train, validation):
    rows = {}
    for name, Teacher in TEACHERS.items():
        started = time.perf_counter()
        fitted = Teacher(train.texts, train.labels, train.num_classes)
        seconds = time.perf_counter() - started
        probabilities = fitted.predict_proba(validation.texts)
        rows[name] = {"val_accuracy": float(accuracy_score(validation.labels, probabilities.argmax(1))),
                      "val_log_loss": float(log_loss(validation.labels, probabilities,
                                                     labels=range(train.num_classes))),
                      "fit_seconds": round(seconds, 1)}
        print(name, rows[name], flush=True)
    return rows


def score_students(train, validation, epochs, seed):
    """The plain recipe (Config's defaults) on a labeled quarter, alone and taught by each teacher on the rest."""
    import dataclasses

    from sentiment_lstm.data import dataset
    from sentiment_lstm.inference import classify
    from sentiment_lstm.training import loop

    labeled, rest = split_validation(train, 0.75, seed=seed)
    work = Path(tempfile.mkdtemp(prefix="teacher_classes_"))
    write_folders(labeled, work / "labeled")
    (work / "unlabeled.txt").write_text("\n".join(text.replace("\n", " ") for text in rest.texts) + "\n")
    write_folders(validation, work / "validation")
    base = Config(data=str(work / "labeled"), val_data=str(work / "validation"), epochs=epochs, seed=seed)
    rows = {}
    for name in ("none", *TEACHERS):
        config = base if name == "none" else dataclasses.replace(
            base, teacher="nb-lr", unlabeled=str(work / "unlabeled.txt"))
        config = dataclasses.replace(config, model_dir=str(work / f"student_{name}"))
        original = teacher.NBLR
        teacher.NBLR = TEACHERS.get(name, original)
        try:
            started = time.perf_counter()
            loop.train(config)
            seconds = time.perf_counter() - started
        finally:
            teacher.NBLR = original
        model = classify.load(config.model_dir)
        aligned = dataset.Dataset(validation.texts, validation.labels, validation.class_names)
        accuracy = float(np.mean(model.predict_proba(aligned.texts).argmax(1) == aligned.labels))
        rows[name] = {"val_accuracy": accuracy, "train_seconds": round(seconds, 1)}
        print("student", name, rows[name], flush=True)
    return {"labeled": len(labeled), "unlabeled": len(rest), "epochs": epochs, "students": rows}


def write_folders(data, root):
    for k, (text, label) in enumerate(zip(data.texts, data.labels)):
        folder = root / data.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / str(k)).write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the 20 Newsgroups archive (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--students", action="store_true", help="also train a student under each teacher")
    parser.add_argument("--epochs", type=int, default=5, help="the students' epochs (default: %(default)s)")
    parser.add_argument("--out", default=str(environment.ROOT / "benchmarks" / "results" / "teacher_classes.json"))
    args = parser.parse_args(argv)
    train, validation = split_validation(folders.read(args.data, "train"), 0.1, seed=args.seed)
    results = {"command": "python benchmarks/teacher_classes.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               **environment.describe(), "train": len(train), "validation": len(validation),
               "teachers": score_teachers(train, validation)}
    if args.students:
        results.update(score_students(train, validation, args.epochs, args.seed))
    environment.write_json(args.out, results)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
