"""Step 5 of the pipeline: score a trained model on held-out labeled reviews.

`evaluate(model_dir, data_path, limit)` classifies the IMDB test split (or an
aclImdb-layout folder/archive, or a CSV/TSV table), prints scikit-learn's
classification report and writes into the model directory

    metrics.json          accuracy, precision, recall, f1, roc_auc, confusion_matrix, n
    confusion_matrix.png  sklearn's ConfusionMatrixDisplay
    roc_curve.png         sklearn's RocCurveDisplay

each atomically (temporary file, then `os.replace`). Precision, recall and F1 are
those of the positive class.
"""
import json
from pathlib import Path

import numpy as np
from sklearn import metrics as skmetrics

from sentiment_lstm import card, data, inference
from sentiment_lstm.export import atomic_file
from sentiment_lstm.errors import UserError

METRICS_FILE = "metrics.json"
CONFUSION_PNG = "confusion_matrix.png"
ROC_PNG = "roc_curve.png"
TABLE_SUFFIXES = (".csv", ".tsv", ".tab")  # anything else is an aclImdb folder or archive


def evaluate(model_dir, data_path=None, limit=None, seed=0):
    """Evaluate the model in `model_dir`; print the report, write metrics and plots.

    Args:
        model_dir: a directory written by `train.py`.
        data_path: a CSV/TSV table, an aclImdb folder or archive (its test split);
            default: the IMDB test split found by `data.resolve_source`.
        limit: at most this many reviews.
        seed: which reviews `limit` keeps.

    Returns:
        The metrics dict written to `metrics.json`.
    """
    classifier = inference.load(model_dir)
    reviews = load_labeled(data_path, limit, seed)
    probabilities = classifier.predict_proba(reviews.texts)
    labels = np.asarray(reviews.labels)
    results = compute_metrics(labels, probabilities)
    print(skmetrics.classification_report(labels, probabilities.argmax(axis=1), labels=[0, 1],
                                          target_names=classifier.labels, digits=4,
                                          zero_division=0))
    write_report(model_dir, labels, probabilities, results, classifier.labels)
    card.write(model_dir, results, evaluated_on=describe(data_path, limit))
    return results


def describe(data_path, limit):
    """What an evaluation ran on, for the model card: "the IMDB test split" and so on."""
    where = f"the table {Path(data_path).name}" if data_path is not None and Path(
        data_path).suffix.lower() in TABLE_SUFFIXES else "the IMDB test split"
    return where if limit is None else f"{where}, at most {limit} of its reviews"


def load_labeled(path=None, limit=None, seed=0):
    """Labeled `Reviews` to evaluate on: a CSV/TSV table's first `limit` rows, else
    `limit` reviews (balanced, drawn with `seed`) of the IMDB source's test split."""
    if path is not None and Path(path).suffix.lower() in TABLE_SUFFIXES:
        reviews = data.load_table(path)
        reviews = reviews.subset(np.arange(min(limit or len(reviews), len(reviews))))
    else:
        reviews = data.load_reviews(data.resolve_source(path), "test", limit=limit, seed=seed)
    if len(reviews.texts) == 0:
        raise UserError(f"There are no reviews to evaluate on in {path or 'the test split'}.")
    if np.any(np.asarray(reviews.labels) < 0):
        raise UserError(f"Some reviews in {path or 'the test split'} have no label.")
    return reviews


def compute_metrics(labels, probabilities):
    """Binary classification metrics of `(n, 2)` `probabilities` against 0/1 `labels`."""
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, _ = skmetrics.precision_recall_fscore_support(
        labels, predicted, average="binary", pos_label=1, zero_division=0)
    both_classes = len(np.unique(labels)) == 2
    return {
        "accuracy": float(skmetrics.accuracy_score(labels, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(skmetrics.roc_auc_score(labels, probabilities[:, 1])) if both_classes else None,
        "confusion_matrix": skmetrics.confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "n": int(len(labels)),
    }


def write_report(model_dir, labels, probabilities, results, label_names):
    """Write `metrics.json`, the confusion matrix and (with both classes) the ROC curve."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    model_dir = Path(model_dir)
    with atomic_file(model_dir / METRICS_FILE) as tmp:
        tmp.write_text(json.dumps(results, indent=2))

    figure = Figure(figsize=(5, 4.5), layout="constrained")
    skmetrics.ConfusionMatrixDisplay.from_predictions(
        labels, probabilities.argmax(axis=1), labels=[0, 1], display_labels=list(label_names),
        ax=figure.subplots(), colorbar=False)
    with atomic_file(model_dir / CONFUSION_PNG) as tmp:
        figure.savefig(tmp, dpi=100)

    if results["roc_auc"] is not None:
        figure = Figure(figsize=(5, 4.5), layout="constrained")
        skmetrics.RocCurveDisplay.from_predictions(labels, probabilities[:, 1], pos_label=1,
                                                   name="positive", ax=figure.subplots())
        with atomic_file(model_dir / ROC_PNG) as tmp:
            figure.savefig(tmp, dpi=100)
