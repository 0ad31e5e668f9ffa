"""Step 6 of the pipeline: write a trained model directory, atomically.

A model directory (`core/layout.py`) holds

    model.keras    the end-to-end Keras model (raw strings -> probabilities)
    saved_model/   the same as a TensorFlow SavedModel: `serve` and `serving_default`
                   take a 1-D tf.string batch of texts, return (N, classes) float32
                   (`inference/serving.py`: computed in groups of texts of similar length)
    config.json    hyperparameters, vocabulary size, parameter count, labels, library versions
    MODEL_CARD.md  the model card (`card.py`), from config.json (and metrics.json)

plus what training adds (history, logs, curves). Everything is written into a
temporary sibling directory that then replaces the old one by renames
(`core/files.publish_dir`), so a crash at any point leaves either the old model or the
new one, never half of one.
"""
import contextlib
import dataclasses
import platform
import shutil
from importlib import metadata
from pathlib import Path

import keras
import tensorflow as tf

from sentiment_lstm.core import layout
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.core.files import publish_dir
from sentiment_lstm.core.layout import CONFIG_FILE, HISTORY_FILES, MODEL_FILE, SAVED_MODEL_DIR, check_replaceable
from sentiment_lstm.export import card
from sentiment_lstm.inference import classify
from sentiment_lstm.inference.serving import SIGNATURE, probabilities_fn
from sentiment_lstm.model import network

VERSIONED_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "scikit-learn")


def publish_model(directory, end_to_end, config, vocabulary_size, labels, data=None, add=None):
    """Publish `end_to_end` to `directory` atomically (`publish_dir`): `write_model`, the
    model card, then `add(staging)` for what else the directory holds (the history)."""
    final = check_replaceable(directory)

    def write(staging):
        write_model(staging, end_to_end, config, vocabulary_size, labels, data)
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
    source, out = Path(model_dir), Path(out)
    classifier = classify.load(source)
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        raise UserError("--out must be a directory outside the model's own, which is left as it is.")
    config = dataclasses.replace(classifier.config, serve_max_length=serve_max_length, model_dir=str(out))
    token_model, vectorizer = network.parts(classifier.model)
    end_to_end = network.build_end_to_end(token_model, vectorizer, config.serve_length)

    def copy_history(directory):
        for name in HISTORY_FILES:
            if (source / name).is_dir():
                shutil.copytree(source / name, directory / name)
            elif (source / name).is_file():
                shutil.copy(source / name, directory / name)

    data = layout.read(source)[1].get("data")
    publish_model(out, end_to_end, config, vectorizer.vocabulary_size(), classifier.labels, data, add=copy_history)
    return config


def write_model(directory, end_to_end, config, vocabulary_size, labels, data=None):
    """Write `model.keras`, `saved_model/` and `config.json` of `end_to_end` into `directory`.

    Args:
        labels: the class names, in the order of the model's outputs.
        data: what the model learned from (`training.loop.describe_data`), recorded as is.
    """
    directory = Path(directory)
    end_to_end.save(directory / MODEL_FILE)
    write_saved_model(end_to_end, directory / SAVED_MODEL_DIR, labels)
    (directory / CONFIG_FILE).write_text(
        config.to_json(vocabulary_size=int(vocabulary_size), parameters=network.trainable_parameters(end_to_end),
                       labels=list(labels), data=data,
                       versions=library_versions()))


def library_versions():
    """Versions of Python and of the installed libraries the model depends on."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions


def write_saved_model(end_to_end, path, labels):
    """Write `end_to_end` as a TensorFlow SavedModel at `path` whose `serve` (also
    `serving_default`) is `probabilities_fn(end_to_end)`: a 1-D tf.string batch of
    texts in, `(N, classes)` float32 out; and whose `class_names` (no input) gives the
    classes' names `(classes,)` tf.string, in the order of `serve`'s columns. Keras'
    `ExportArchive` tracks the weights and the vocabulary's lookup table, and the fold's
    table and n-gram hash tables beside them."""
    archive = keras.export.ExportArchive()
    archive.track(end_to_end)
    serve = probabilities_fn(end_to_end)
    for resource in serve.resources:
        archive.track(resource)
    archive.add_endpoint("serve", serve, input_signature=[SIGNATURE])
    names = tf.constant(list(labels), tf.string)

    @tf.function(input_signature=[], autograph=False)
    def class_names():
        return names

    archive.add_endpoint("class_names", class_names)
    archive.write_out(str(path), verbose=False)
