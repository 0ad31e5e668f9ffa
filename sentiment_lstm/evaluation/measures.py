"""The measures of an evaluation: its metrics, their one-line summary, and the report
files (metrics JSON, confusion matrix and ROC curve plots), each written atomically.

Every evaluation gets accuracy, macro and weighted F1, each class's precision, recall,
F1 and support (scikit-learn's), the confusion matrix, and ROC AUC (one-vs-rest,
macro-averaged over the classes present). Two classes also get what a binary report
gives: precision, recall and F1 of class 1 (IMDB's "positive"), ROC AUC and its curve.
"""
import json

import numpy as np
from sklearn import metrics as skmetrics

from sentiment_lstm.core.files import atomic_file


def summary(results):
    """One line: accuracy, F1 (macro with more than two classes) and ROC AUC (or why there
    is none), and what they were on."""
    auc = (f"ROC AUC {results['roc_auc']:.4f}" if results["roc_auc"] is not None
           else f"no ROC AUC ({results['roc_auc_reason']})")
    f1 = f"F1 {results['f1']:.4f}" if "f1" in results else f"macro F1 {results['macro_f1']:.4f}"
    return f"Accuracy {results['accuracy']:.4f}, {f1}, {auc}, on {results['evaluated_on']} ({results['n']:,} texts)."


def compute_metrics(labels, probabilities, label_names):
    """The metrics of `(n, classes)` `probabilities` against `labels` (indices into
    `label_names`); without two classes present, `roc_auc` is None and `roc_auc_reason`
    says why.

    Example:

    >>> compute_metrics(np.array([0, 1, 2]), np.eye(3), ["a", "b", "c"])["macro_f1"]
    1.0
    """
    classes = list(range(len(label_names)))
    predicted = probabilities.argmax(axis=1)
    per_class = skmetrics.precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    results = {
        "accuracy": float(skmetrics.accuracy_score(labels, predicted)),
        "macro_f1": float(skmetrics.f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        "weighted_f1": float(skmetrics.f1_score(labels, predicted, labels=classes, average="weighted",
                                                zero_division=0)),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(label_names, *per_class)},
    }
    if len(label_names) == 2:  # the binary report: class 1's
        results.update({key: results["per_class"][label_names[1]][key] for key in ("precision", "recall", "f1")})
    present = np.unique(labels)
    results["roc_auc"] = _roc_auc(labels, probabilities, present) if len(present) >= 2 else None
    results["confusion_matrix"] = skmetrics.confusion_matrix(labels, predicted, labels=classes).tolist()
    results["labels"] = list(label_names)
    results["n"] = int(len(labels))
    if results["roc_auc"] is None:
        results["roc_auc_reason"] = (f"it needs texts of two classes or more, and all {len(labels):,} "
                                     f"are {label_names[int(present[0])]}")
    return results


def _roc_auc(labels, probabilities, present):
    """ROC AUC: of class 1's probability with two classes, else one-vs-rest, the mean over
    the `present` classes of each one's against the rest (scikit-learn's `ovr` macro when
    every class is present)."""
    if probabilities.shape[1] == 2:
        return float(skmetrics.roc_auc_score(labels, probabilities[:, 1]))
    return float(np.mean([skmetrics.roc_auc_score(labels == k, probabilities[:, k]) for k in present]))


def write_report(names, labels, probabilities, results, label_names):
    """Write the metrics, the confusion matrix and (with two classes, both present) the
    ROC curve to `names` (`evaluate.report_names`); return the paths written."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    names["metrics"].parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(names["metrics"]) as tmp:
        tmp.write_text(json.dumps(results, indent=2))

    classes = len(label_names)
    side = max(5.0, 2.5 + 0.45 * classes)  # 20 classes: 11.5 inches, each cell's count still legible
    figure = Figure(figsize=(side, side * 0.9), layout="constrained")
    skmetrics.ConfusionMatrixDisplay.from_predictions(
        labels, probabilities.argmax(axis=1), labels=list(range(classes)), display_labels=list(label_names),
        ax=figure.subplots(), colorbar=False, xticks_rotation="vertical" if classes > 4 else "horizontal",
        text_kw={"fontsize": 10 if classes <= 10 else 8})
    with atomic_file(names["confusion"]) as tmp:
        figure.savefig(tmp, dpi=100)
    written = [names["metrics"], names["confusion"]]

    if classes == 2 and results["roc_auc"] is not None:
        figure = Figure(figsize=(5, 4.5), layout="constrained")
        skmetrics.RocCurveDisplay.from_predictions(labels, probabilities[:, 1], pos_label=1,
                                                   name=label_names[1], ax=figure.subplots())
        with atomic_file(names["roc"]) as tmp:
            figure.savefig(tmp, dpi=100)
        written.append(names["roc"])
    elif names["roc"].exists():  # an earlier curve of this same evaluation: no longer true
        names["roc"].unlink()
    return written
