"""Step 6 of the pipeline: write a trained model directory, atomically.

A model directory holds

    model.keras    the end-to-end Keras model (raw strings -> probabilities)
    saved_model/   the same as a TensorFlow SavedModel: `serve` and `serving_default`
                   take a 1-D tf.string batch of reviews, return (N, 2) float32
                   (`serving.py`: computed in groups of reviews of similar length)
    config.json    hyperparameters, vocabulary size, labels, library versions
    MODEL_CARD.md  the model card (`card.py`), from config.json (and metrics.json)

plus what `training` adds (history, logs, curves). Everything is written into a
temporary sibling directory that then replaces the old one by renames, so a crash
at any point leaves either the old model or the new one, never half of one.
"""
import contextlib
import json
import os
import platform
import re
import shutil
import uuid
from importlib import metadata
from pathlib import Path

from sentiment_lstm import lock, paths
from sentiment_lstm.config import Config
from sentiment_lstm.data import LABELS
from sentiment_lstm.errors import UserError
from sentiment_lstm.paths import CONFIG_FILE, check_replaceable

MODEL_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
VERSIONED_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "scikit-learn")
HISTORY_FILES = ("history.csv", "history.json", "training_curves.png", "logs")  # what training adds


def publish_model(directory, end_to_end, config, vocabulary_size, add=None):
    """Publish `end_to_end` to `directory` atomically (`publish_dir`): `write_model`, the
    model card, then `add(staging)` for what else the directory holds (the history)."""
    from sentiment_lstm import card

    final = check_replaceable(directory)

    def write(staging):
        write_model(staging, end_to_end, config, vocabulary_size)
        if add is not None:
            add(staging)
        card.write(staging, name=final)

    return publish_dir(final, write)


def republish(model_dir, out, serve_max_length):
    """Publish the model of `model_dir` again to `out`, reading `serve_max_length` tokens
    per review when it serves (0: the whole review): the same weights, vocabulary and
    n-gram keys, its config with `serve_max_length` and `model_dir` updated, and its
    training history. `model_dir` is left as it is; an old evaluation's metrics are not
    carried over (they were the other length's).

    Raises:
        UserError: `out` is `model_dir` or inside it.
    """
    import dataclasses

    from sentiment_lstm import inference, model

    source, out = Path(model_dir), Path(out)
    classifier = inference.load(source)
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        raise UserError("--out must be a directory outside the model's own, which is left as it is.")
    config = dataclasses.replace(classifier.config, serve_max_length=serve_max_length, model_dir=str(out))
    token_model, vectorizer = model.parts(classifier.model)
    end_to_end = model.build_end_to_end(token_model, vectorizer, config.serve_length)

    def copy_history(directory):
        for name in HISTORY_FILES:
            if (source / name).is_dir():
                shutil.copytree(source / name, directory / name)
            elif (source / name).is_file():
                shutil.copy(source / name, directory / name)

    publish_model(out, end_to_end, config, vectorizer.vocabulary_size(), add=copy_history)
    return config


def publish_dir(directory, write):
    """Fill a fresh temporary sibling of `directory` with `write(path)`, then swap it in.

    The old `directory`, if any, is renamed aside, the new one renamed into place,
    then the old one deleted. If `write` raises, the temporary directory is removed,
    `directory` is untouched and the exception propagates. It holds the model
    directory's lock (`lock.hold`) throughout, so no other process publishes there
    meanwhile, and any hidden sibling that a killed publish left (`.NAME.new-*`,
    `.NAME.old-*`) is stale: it is removed once the new directory is in place.
    """
    directory = check_replaceable(directory)
    with lock.hold(directory):
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = _sibling(directory, "new")
        staging.mkdir()
        try:
            write(staging)
            old = None
            if directory.exists():
                old = _sibling(directory, "old")
                os.replace(directory, old)
            try:
                os.replace(staging, directory)
            except BaseException:
                if old is not None:
                    os.replace(old, directory)
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        for stale in _siblings(directory):  # ours (`old`) and any a killed publish left
            shutil.rmtree(stale, ignore_errors=True)
    return directory


def _sibling(path, role):
    """An unused hidden path beside `path`, with the same suffix."""
    return path.with_name(f".{path.stem}.{role}-{uuid.uuid4().hex[:8]}{path.suffix}")


def _siblings(path):
    """The hidden staging and old directories of `path` (`_sibling`'s) that exist now."""
    name = re.compile(rf"\.{re.escape(path.stem)}\.(new|old)-[0-9a-f]{{8}}{re.escape(path.suffix)}")
    return [p for p in path.parent.iterdir() if name.fullmatch(p.name) and p.is_dir()]


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary path beside `path`; on success it replaces `path` in one step.

    Example:

    >>> with atomic_file("metrics.json") as tmp:
    ...     tmp.write_text("{}")
    """
    path = Path(path)
    tmp = _sibling(path, "new")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_model(directory, end_to_end, config, vocabulary_size):
    """Write `model.keras`, `saved_model/` and `config.json` of `end_to_end` into `directory`."""
    from sentiment_lstm import serving

    directory = Path(directory)
    end_to_end.save(directory / MODEL_FILE)
    serving.export(end_to_end, directory / SAVED_MODEL_DIR)
    (directory / CONFIG_FILE).write_text(
        config.to_json(vocabulary_size=int(vocabulary_size), labels=list(LABELS),
                       versions=library_versions()))


def library_versions():
    """Versions of Python and of the installed libraries the model depends on."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions


def read_model_dir(model_dir):
    """(`Config`, the whole saved JSON of `config.json`) of a complete model directory,
    checked without loading TensorFlow: the folder, its config and its `model.keras`.

    Raises:
        UserError: when `model_dir` is missing, is not a model directory, or its
            config is unreadable.
    """
    model_dir = paths.model_dir(model_dir)  # a directory with a config.json, or one sentence why not
    path = model_dir / CONFIG_FILE
    try:
        text = path.read_text()
        saved = json.loads(text)
        if len(saved["labels"]) != 2:
            raise ValueError(f"expected 2 labels, got {saved['labels']}")
        config = Config.from_json(text)
    except (ValueError, KeyError, TypeError, UserError) as error:
        raise UserError(f"{path} is corrupt or was written by an incompatible version; "
                        "train the model again.") from error
    if not (model_dir / MODEL_FILE).is_file():
        raise UserError(f"{model_dir} is not a complete model directory: it has no {MODEL_FILE}.")
    return config, saved
