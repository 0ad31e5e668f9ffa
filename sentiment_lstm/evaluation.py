"""Step 5 of the pipeline: score a trained model on held-out labeled reviews.

`evaluate(model_dir, data_path, limit)` classifies the IMDB test split (or an
aclImdb-layout folder/archive, or a CSV/TSV table), prints scikit-learn's
classification report and a summary, and writes into the model directory (or `out`)

    metrics.json          accuracy, precision, recall, f1, roc_auc, confusion_matrix, n,
                          evaluated_on (and roc_auc_reason when there is no ROC AUC)
    confusion_matrix.png  sklearn's ConfusionMatrixDisplay
    roc_curve.png         sklearn's RocCurveDisplay (with both classes only)

each atomically (temporary file, then `os.replace`). Those names are the full test
split's. Any other evaluation writes names that say what it was on, so it never
replaces them: `--limit 200` writes `metrics_test_limit200.json`,
`confusion_matrix_test_limit200.png`, ...; a table `reviews.csv`,
`metrics_reviews.json`, ... (`report_names`). The model card shows the full test
split's metrics once there are some, else the latest evaluation's. Precision, recall
and F1 are those of the positive class.
"""
import json
import re
import time
from pathlib import Path

import numpy as np
from sklearn import metrics as skmetrics

from sentiment_lstm import card, data, inference, paths, progress
from sentiment_lstm.export import atomic_file
from sentiment_lstm.errors import UserError

METRICS_FILE = "metrics.json"
CONFUSION_PNG = "confusion_matrix.png"
ROC_PNG = "roc_curve.png"
SCORE_CHUNK = 8 * inference.BATCH_SIZE  # reviews scored between two progress updates


def evaluate(model_dir, data_path=None, limit=None, seed=0, out=None):
    """Evaluate the model in `model_dir`; print the report, write metrics and plots.

    Args:
        model_dir: a directory written by `train.py`.
        data_path: a CSV/TSV table, an aclImdb folder or archive (its test split);
            default: the IMDB test split found by `data.resolve_source`.
        limit: at most this many reviews.
        seed: which reviews `limit` keeps.
        out: the directory to write the files into (default: `model_dir`).

    Returns:
        The metrics dict written to the metrics file (`report_names`).
    """
    started = time.perf_counter()
    classifier = inference.load(model_dir)
    progress.stage(f"Loaded the model from {model_dir}", started)
    reviews = load_labeled(data_path, limit, seed)
    started = time.perf_counter()
    probabilities = score(classifier, reviews.texts)
    progress.stage(f"Scored {len(reviews):,} reviews", started)
    labels = np.asarray(reviews.labels)
    results = {**compute_metrics(labels, probabilities, classifier.labels),
               "evaluated_on": describe(data_path, limit)}
    print(skmetrics.classification_report(labels, probabilities.argmax(axis=1), labels=[0, 1],
                                          target_names=classifier.labels, digits=4,
                                          zero_division=0))
    names = report_names(Path(out or model_dir), data_path, limit)
    written = write_report(names, labels, probabilities, results, classifier.labels)
    full_test = names["metrics"] == Path(model_dir) / METRICS_FILE
    if full_test or not (Path(model_dir) / METRICS_FILE).exists():  # else the card keeps the full test's
        card.write(model_dir, results, evaluated_on=results["evaluated_on"])
    print(summary(results))
    print(f"Wrote {', '.join(path.name for path in written)} to {names['metrics'].parent}")
    return results


def score(classifier, texts):
    """`classifier.predict_proba(texts)`, a chunk at a time, with a progress bar."""
    bar = progress.Bar(len(texts), "reviews")
    chunks = []
    for start in range(0, len(texts), SCORE_CHUNK):
        chunks.append(classifier.predict_proba(texts[start:start + SCORE_CHUNK]))
        bar.update(start + len(chunks[-1]))
    return np.concatenate(chunks)


def summary(results):
    """One line: accuracy, F1 and ROC AUC (or why there is none), and what they were on."""
    auc = (f"ROC AUC {results['roc_auc']:.4f}" if results["roc_auc"] is not None
           else f"no ROC AUC ({results['roc_auc_reason']})")
    return (f"Accuracy {results['accuracy']:.4f}, F1 {results['f1']:.4f}, {auc}, "
            f"on {results['evaluated_on']} ({results['n']:,} reviews).")


def describe(data_path, limit):
    """What an evaluation ran on, for the model card: "the IMDB test split" and so on."""
    where = f"the table {Path(data_path).name}" if paths.is_table(data_path) else "the IMDB test split"
    return where if limit is None else f"{where}, at most {limit} of its reviews"


def report_names(directory, data_path=None, limit=None):
    """`{"metrics", "confusion", "roc"}` -> the paths an evaluation writes in `directory`:
    `metrics.json`, `confusion_matrix.png`, `roc_curve.png` for a whole IMDB test split;
    else with a suffix that says what it was on: `_test_limit200` (200 reviews of the
    test split), `_reviews` (the table `reviews.csv`), `_reviews_limit50`.

    Example:

    >>> report_names(Path("m"), "data/my reviews.csv", 50)["metrics"]
    PosixPath('m/metrics_my_reviews_limit50.json')
    """
    what = re.sub(r"[^\w.-]+", "_", Path(data_path).stem) if paths.is_table(data_path) else (
        "test" if limit is not None else "")
    if limit is not None:
        what += f"_limit{limit}"
    suffix = f"_{what}" if what else ""
    return {key: directory / f"{Path(name).stem}{suffix}{Path(name).suffix}" for key, name in
            (("metrics", METRICS_FILE), ("confusion", CONFUSION_PNG), ("roc", ROC_PNG))}


def load_labeled(path=None, limit=None, seed=0):
    """Labeled `Reviews` to evaluate on: a CSV/TSV table's first `limit` rows, else
    `limit` reviews (balanced, drawn with `seed`) of the IMDB source's test split."""
    if paths.is_table(path):
        reviews = data.load_table(path)
        reviews = reviews.subset(np.arange(min(limit or len(reviews), len(reviews))))
    else:
        reviews = data.load_reviews(data.resolve_source(path), "test", limit=limit, seed=seed)
    if len(reviews.texts) == 0:
        raise UserError(f"There are no reviews to evaluate on in {path or 'the test split'}.")
    if np.any(np.asarray(reviews.labels) < 0):
        raise UserError(f"Some reviews in {path or 'the test split'} have no label.")
    return reviews


def compute_metrics(labels, probabilities, label_names=data.LABELS):
    """Binary classification metrics of `(n, 2)` `probabilities` against 0/1 `labels`;
    with one class only, `roc_auc` is None and `roc_auc_reason` says why."""
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, _ = skmetrics.precision_recall_fscore_support(
        labels, predicted, average="binary", pos_label=1, zero_division=0)
    present = np.unique(labels)
    results = {
        "accuracy": float(skmetrics.accuracy_score(labels, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(skmetrics.roc_auc_score(labels, probabilities[:, 1])) if len(present) == 2 else None,
        "confusion_matrix": skmetrics.confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "n": int(len(labels)),
    }
    if results["roc_auc"] is None:
        results["roc_auc_reason"] = (f"it needs reviews of both classes, and all {len(labels):,} "
                                     f"are {label_names[int(present[0])]}")
    return results


def write_report(names, labels, probabilities, results, label_names):
    """Write the metrics, the confusion matrix and (with both classes) the ROC curve to
    `names` (`report_names`); return the paths written."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    names["metrics"].parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(names["metrics"]) as tmp:
        tmp.write_text(json.dumps(results, indent=2))

    figure = Figure(figsize=(5, 4.5), layout="constrained")
    skmetrics.ConfusionMatrixDisplay.from_predictions(
        labels, probabilities.argmax(axis=1), labels=[0, 1], display_labels=list(label_names),
        ax=figure.subplots(), colorbar=False)
    with atomic_file(names["confusion"]) as tmp:
        figure.savefig(tmp, dpi=100)
    written = [names["metrics"], names["confusion"]]

    if results["roc_auc"] is not None:
        figure = Figure(figsize=(5, 4.5), layout="constrained")
        skmetrics.RocCurveDisplay.from_predictions(labels, probabilities[:, 1], pos_label=1,
                                                   name="positive", ax=figure.subplots())
        with atomic_file(names["roc"]) as tmp:
            figure.savefig(tmp, dpi=100)
        written.append(names["roc"])
    elif names["roc"].exists():  # an earlier curve of this same evaluation: no longer true
        names["roc"].unlink()
    return written
