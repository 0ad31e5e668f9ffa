"""Step 5 of the pipeline: score a trained model on held-out labeled texts.

`evaluate(model_dir, data_path, limit)` classifies the test split of the model's data
(or of `data_path`: a folder or archive of class folders, IMDB's, or a table), prints
scikit-learn's classification report and a summary, and writes into the model
directory (or `out`)

    metrics.json          accuracy, macro and weighted F1, per-class precision, recall and
                          F1, roc_auc, confusion_matrix, labels, n, evaluated_on (and with
                          two classes precision, recall and f1 of class 1; roc_auc_reason
                          when there is no ROC AUC; skipped, texts of unknown classes)
    confusion_matrix.png  sklearn's ConfusionMatrixDisplay, labelled with the class names
    roc_curve.png         sklearn's RocCurveDisplay (with two classes, both present)

each atomically (`core/files.atomic_file`). Those names are a whole test split's. Any
other evaluation writes names that say what it was on, so it never replaces them:
`--limit 200` writes `metrics_test_limit200.json`, `confusion_matrix_test_limit200.png`,
...; a table `reviews.csv`, `metrics_reviews.json`, ... (`report_names`). The model card
shows the whole test split's metrics once there are some, else the latest evaluation's.

The data's classes are matched to the model's by name (`Dataset.with_classes`); texts
of a class the model does not know are left out, counted, and said so.
"""
import re
import time
from pathlib import Path

import numpy as np
from sklearn import metrics as skmetrics

from sentiment_lstm.core import layout, progress
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.core.layout import CONFUSION_PNG, METRICS_FILE, ROC_PNG
from sentiment_lstm.data import sources, tables
from sentiment_lstm.data.dataset import balanced_subset
from sentiment_lstm.evaluation.measures import compute_metrics, summary, write_report
from sentiment_lstm.export import card
from sentiment_lstm.inference import classify

SCORE_CHUNK = 8 * classify.BATCH_SIZE  # texts scored between two progress updates


def evaluate(model_dir, data_path=None, limit=None, seed=0, out=None, text_column=None, label_column=None):
    """Evaluate the model in `model_dir`; print the report, write metrics and plots.

    Args:
        model_dir: a directory written by `sentiment-lstm train`.
        data_path: a table, a folder or archive of class folders or IMDB's (its test
            split); default: the test split of the data the model was trained on.
        limit: at most this many texts (balanced over the classes, drawn with `seed`;
            a table's first `limit` rows).
        seed: which texts `limit` keeps.
        out: the directory to write the files into (default: `model_dir`).
        text_column, label_column: a table's columns (default: the model's, else found
            by their names).

    Returns:
        The metrics dict written to the metrics file (`report_names`).
    """
    config = layout.read(model_dir)[0]
    data_path = data_path if data_path is not None else default_data(config)
    text_column, label_column = text_column or config.text_column, label_column or config.label_column
    started = time.perf_counter()
    classifier = classify.load(model_dir)
    progress.stage(f"Loaded the model from {model_dir}", started)
    texts, skipped = load_labeled(data_path, classifier.labels, limit, seed, text_column, label_column)
    started = time.perf_counter()
    probabilities = score(classifier, texts.texts)
    progress.stage(f"Scored {len(texts):,} texts", started)
    labels = np.asarray(texts.labels)
    results = {**compute_metrics(labels, probabilities, classifier.labels),
               "evaluated_on": describe(data_path, limit)}
    if skipped:
        results["skipped"] = skipped
    print(skmetrics.classification_report(labels, probabilities.argmax(axis=1),
                                          labels=list(range(len(classifier.labels))),
                                          target_names=classifier.labels, digits=4, zero_division=0))
    names = report_names(Path(out or model_dir), data_path, limit)
    written = write_report(names, labels, probabilities, results, classifier.labels)
    full_test = names["metrics"] == Path(model_dir) / METRICS_FILE
    if full_test or not (Path(model_dir) / METRICS_FILE).exists():  # else the card keeps the full test's
        card.write(model_dir, results, evaluated_on=results["evaluated_on"])
    print(summary(results))
    print(f"Wrote {', '.join(path.name for path in written)} to {names['metrics'].parent}")
    return results


def default_data(config):
    """The data a model is evaluated on by default: its training data's test split.

    Raises:
        UserError: it was trained on a table, which has no test split.
    """
    if config.data is not None and sources.kind(config.data) == "table":
        raise UserError(f"The model was trained on the table {config.data}, which holds no test split; "
                        "give the texts to evaluate on with --data.")
    return config.data


def score(classifier, texts):
    """`classifier.predict_proba(texts)`, a chunk at a time, with a progress bar."""
    bar = progress.Bar(len(texts), "texts")
    chunks = []
    for start in range(0, len(texts), SCORE_CHUNK):
        chunks.append(classifier.predict_proba(texts[start:start + SCORE_CHUNK]))
        bar.update(start + len(chunks[-1]))
    return np.concatenate(chunks)


def describe(data_path, limit):
    """What an evaluation ran on, for the model card: "the IMDB test split" and so on."""
    if data_path is None or sources.kind(data_path) == "imdb":
        where = "the IMDB test split"
    elif tables.kind(data_path):
        where = f"the table {Path(data_path).name}"
    else:
        where = f"the test split of {Path(data_path).name}"
    return where if limit is None else f"{where}, at most {limit} of its texts"


def report_names(directory, data_path=None, limit=None):
    """`{"metrics", "confusion", "roc"}` -> the paths an evaluation writes in `directory`:
    `metrics.json`, `confusion_matrix.png`, `roc_curve.png` for a whole test split;
    else with a suffix that says what it was on: `_test_limit200` (200 texts of the
    test split), `_reviews` (the table `reviews.csv`), `_reviews_limit50`.

    Example:

    >>> report_names(Path("m"), "data/my reviews.csv", 50)["metrics"]
    PosixPath('m/metrics_my_reviews_limit50.json')
    """
    table = data_path is not None and tables.kind(data_path) is not None
    what = re.sub(r"[^\w.-]+", "_", Path(data_path).stem) if table else ("test" if limit is not None else "")
    if limit is not None:
        what += f"_limit{limit}"
    suffix = f"_{what}" if what else ""
    return {key: directory / f"{Path(name).stem}{suffix}{Path(name).suffix}" for key, name in
            (("metrics", METRICS_FILE), ("confusion", CONFUSION_PNG), ("roc", ROC_PNG))}


def load_labeled(path, class_names, limit=None, seed=0, text_column=None, label_column=None):
    """`(texts, skipped)`: the labeled texts to evaluate on, labelled by the model's
    `class_names`: a table's first `limit` rows, else `limit` texts (balanced, drawn with
    `seed`) of the test split at `path`; and `{class: count}` of the texts left out, of
    classes the model does not know (each said in a line).

    Raises:
        UserError: no texts, or none of a class the model knows.
    """
    texts = sources.load(path, "test", text_column, label_column)
    if path is not None and tables.kind(path):
        texts = texts.subset(np.arange(min(limit or len(texts), len(texts))))
    elif limit is not None:
        texts = balanced_subset(texts, limit, seed)
    texts, skipped = texts.with_classes(class_names)
    for name, count in skipped.items():
        print(f"Left out {count:,} text(s) of the class {name!r}, which the model does not know "
              f"(its classes: {', '.join(class_names)}).")
    if len(texts) == 0:
        raise UserError(f"There are no texts of the model's classes to evaluate on in "
                        f"{path or 'the test split'}.")
    return texts, skipped
