"""The model directory: the names of its files, and the checks that a path is one.

    model.keras          the end-to-end Keras model (raw strings -> probabilities)
    saved_model/         the same as a TensorFlow SavedModel (`export/publish.py`)
    config.json          hyperparameters, vocabulary size, classes, data, library versions
    MODEL_CARD.md        the model card (`export/card.py`)
    history.csv, history.json, training_curves.png, logs/     what training adds
    metrics.json, confusion_matrix.png, roc_curve.png         what evaluation adds

Every module that writes or reads one of these names takes it from here. Nothing
here loads TensorFlow, so the commands check a model directory before it loads.

Example:

>>> check("models/imdb_lstm")      # or UserError: "There is no model directory ..."
PosixPath('models/imdb_lstm')
"""
import json
from pathlib import Path

from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError

CONFIG_FILE = "config.json"  # what makes a directory a model directory
MODEL_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
CARD_FILE = "MODEL_CARD.md"
HISTORY_CSV, HISTORY_JSON, CURVES_PNG, LOGS_DIR = HISTORY_FILES = (
    "history.csv", "history.json", "training_curves.png", "logs")  # what training adds
METRICS_FILE, CONFUSION_PNG, ROC_PNG = "metrics.json", "confusion_matrix.png", "roc_curve.png"  # evaluation's


def check(path):
    """`path` as a `Path`, if it is a directory with a `config.json`.

    Raises:
        UserError: it is missing, a file, or a directory without `config.json`.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"There is no model directory {path}; train one with "
                        f"`sentiment-lstm train --model-dir {path}`.")
    if not path.is_dir():
        raise UserError(f"{path} is a file, not a model directory; "
                        "pass the directory `sentiment-lstm train` wrote.")
    if not (path / CONFIG_FILE).is_file():
        raise UserError(f"{path} is not a model directory: it has no {CONFIG_FILE}.")
    return path


def check_replaceable(directory):
    """`directory` as an absolute path, if it is new, empty or a model directory.

    Raises:
        UserError: it holds something else (or contains the working directory),
            which publishing a model there would delete.
    """
    directory = Path(directory).expanduser().resolve()
    if not directory.exists():
        return directory
    if not directory.is_dir():
        raise UserError(f"{directory} exists and is not a directory; choose another model directory.")
    if directory in (Path.cwd(), *Path.cwd().parents) or (
            any(directory.iterdir()) and not (directory / CONFIG_FILE).is_file()):
        raise UserError(f"{directory} already holds files that are not a trained model; "
                        "choose a new or empty model directory.")
    return directory


def read(model_dir):
    """(`Config`, the whole saved JSON of `config.json`) of a complete model directory,
    checked without loading TensorFlow: the folder, its config and its `model.keras`.

    Raises:
        UserError: when `model_dir` is missing, is not a model directory, or its
            config is unreadable.
    """
    model_dir = check(model_dir)  # a directory with a config.json, or one sentence why not
    path = model_dir / CONFIG_FILE
    try:
        text = path.read_text()
        saved = json.loads(text)
        labels = saved["labels"]
        if len(labels) < 2 or not all(isinstance(label, str) for label in labels):
            raise ValueError(f"expected the names of 2 or more classes, got {labels}")
        config = Config.from_json(text)
    except (ValueError, KeyError, TypeError, UserError) as error:
        raise UserError(f"{path} is corrupt or was written by an incompatible version; "
                        "train the model again.") from error
    if not (model_dir / MODEL_FILE).is_file():
        raise UserError(f"{model_dir} is not a complete model directory: it has no {MODEL_FILE}.")
    return config, saved
