"""The measures of an evaluation: its metrics, their one-line summary, and the report
files (metrics JSON, confusion matrix and ROC curve plots), each written atomically."""
import json

import numpy as np
from sklearn import metrics as skmetrics

from sentiment_lstm.core.files import atomic_file


def summary(results):
    """One line: accuracy, F1 and ROC AUC (or why there is none), and what they were on."""
    auc = (f"ROC AUC {results['roc_auc']:.4f}" if results["roc_auc"] is not None
           else f"no ROC AUC ({results['roc_auc_reason']})")
    return (f"Accuracy {results['accuracy']:.4f}, F1 {results['f1']:.4f}, {auc}, "
            f"on {results['evaluated_on']} ({results['n']:,} reviews).")


def compute_metrics(labels, probabilities, label_names=("negative", "positive")):
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
