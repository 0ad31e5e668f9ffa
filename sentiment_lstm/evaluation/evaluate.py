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
import re
import time
from pathlib import Path

import numpy as np
from sklearn import metrics as skmetrics

from sentiment_lstm.core import paths, progress
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.core.layout import CONFUSION_PNG, METRICS_FILE, ROC_PNG
from sentiment_lstm.data import imdb, tables
from sentiment_lstm.evaluation.measures import compute_metrics, summary, write_report
from sentiment_lstm.export import card
from sentiment_lstm.inference import classify

SCORE_CHUNK = 8 * classify.BATCH_SIZE  # reviews scored between two progress updates


def evaluate(model_dir, data_path=None, limit=None, seed=0, out=None):
    """Evaluate the model in `model_dir`; print the report, write metrics and plots.

    Args:
        model_dir: a directory written by `train.py`.
        data_path: a CSV/TSV table, an aclImdb folder or archive (its test split);
            default: the IMDB test split found by `imdb.resolve_source`.
        limit: at most this many reviews.
        seed: which reviews `limit` keeps.
        out: the directory to write the files into (default: `model_dir`).

    Returns:
        The metrics dict written to the metrics file (`report_names`).
    """
    started = time.perf_counter()
    classifier = classify.load(model_dir)
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
        reviews = tables.load_table(path)
        reviews = reviews.subset(np.arange(min(limit or len(reviews), len(reviews))))
    else:
        reviews = imdb.load_reviews(imdb.resolve_source(path), "test", limit=limit, seed=seed)
    if len(reviews.texts) == 0:
        raise UserError(f"There are no reviews to evaluate on in {path or 'the test split'}.")
    if np.any(np.asarray(reviews.labels) < 0):
        raise UserError(f"Some reviews in {path or 'the test split'} have no label.")
    return reviews
