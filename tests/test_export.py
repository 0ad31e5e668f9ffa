"""export.py: atomic publishing of a model directory, and republishing with another serving length."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import TEXTS
from sentiment_lstm.core import files, layout
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.export import publish
from sentiment_lstm.inference import classify
from sentiment_lstm.model import network


def hidden_siblings(directory):
    return sorted(p.name for p in directory.parent.iterdir() if p.name.startswith("."))


def test_publish_dir_replaces_the_old_directory(tmp_path):
    target = tmp_path / "model"
    files.publish_dir(target, lambda d: [(d / name).write_text("old")
                                          for name in ("config.json", "metrics.json")])
    files.publish_dir(target, lambda d: (d / "config.json").write_text("new"))
    assert [p.name for p in target.iterdir()] == ["config.json"]
    assert (target / "config.json").read_text() == "new"
    assert hidden_siblings(target) == []


def test_publish_dir_keeps_the_old_directory_when_writing_fails(tmp_path):
    target = tmp_path / "model"
    files.publish_dir(target, lambda d: (d / "config.json").write_text("old"))

    def fail_halfway(directory):
        (directory / "config.json").write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        files.publish_dir(target, fail_halfway)
    assert (target / "config.json").read_text() == "old"
    assert hidden_siblings(target) == []


def test_publish_dir_restores_the_old_directory_when_the_swap_fails(tmp_path, monkeypatch):
    target = tmp_path / "model"
    files.publish_dir(target, lambda d: (d / "config.json").write_text("old"))
    real_replace, calls = files.os.replace, []

    def replace(source, destination):  # the 2nd rename (new -> target) fails
        calls.append(source)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied")
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(PermissionError):
        files.publish_dir(target, lambda d: (d / "config.json").write_text("new"))
    assert (target / "config.json").read_text() == "old"
    assert hidden_siblings(target) == []


def test_publish_dir_never_replaces_other_files(tmp_path, monkeypatch):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(UserError, match="already holds files that are not a trained model"):
        files.publish_dir(tmp_path / "notes", lambda d: None)
    monkeypatch.chdir(tmp_path / "notes")
    with pytest.raises(UserError, match="already holds files"):
        layout.check_replaceable(".")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    assert layout.check_replaceable("../empty") == tmp_path / "empty"


def test_atomic_file_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "metrics.json"
    with files.atomic_file(path) as tmp:
        tmp.write_text('{"accuracy": 0.9}')
    with pytest.raises(RuntimeError):
        with files.atomic_file(path) as tmp:
            tmp.write_text('{"accur')
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"accuracy": 0.9}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_failed_export_leaves_the_old_model_intact(end_to_end, tmp_path, monkeypatch):
    target = tmp_path / "model"
    files.publish_dir(target, lambda d: publish.write_model(d, end_to_end, Config(units=4, embed_dim=8), 20, ("negative", "positive")))
    before = classify.load(target).predict_proba(TEXTS)
    old_config = (target / layout.CONFIG_FILE).read_text()

    def failing_export(*args, **kwargs):  # model.keras is written, then this fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", failing_export)  # what writes the SavedModel
    with pytest.raises(OSError):
        files.publish_dir(target, lambda d: publish.write_model(d, end_to_end, Config(), 20, ("negative", "positive")))
    assert (target / layout.CONFIG_FILE).read_text() == old_config
    assert (target / layout.SAVED_MODEL_DIR / "saved_model.pb").is_file()
    np.testing.assert_allclose(classify.load(target).predict_proba(TEXTS), before, atol=1e-6)
    assert hidden_siblings(target) == []



def test_trained_model_serves_the_length_asked_for_and_can_be_republished(imdb_folder, tmp_path):
    """`train(serve_max_length=0)` publishes a model reading whole reviews; `scripts/serve_length.py`
    republishes a clipped one with the same weights, reading whole reviews too."""
    from script_runner import run_script
    from sentiment_lstm.training import loop

    review = "Dull plot. " * 3 + "A joy, a great film! " * 10  # longer than the 2 tokens trained on
    common = dict(data=str(imdb_folder), val_fraction=0.5, epochs=1, units=2, embed_dim=2, max_length=2,
                  deterministic=False)  # op determinism is process-wide and would turn XLA off in later tests
    loop.train(Config(serve_max_length=0, model_dir=str(tmp_path / "whole"), **common))
    loop.train(Config(model_dir=str(tmp_path / "clipped"), **common))
    for name, steps in (("whole", None), ("clipped", 2)):
        served = classify.load(tmp_path / name).model
        token_model, vectorizer = network.parts(served)
        assert ("clip_tokens" in [layer.name for layer in served.layers]) == (steps is not None)
        tokens = vectorizer(tf.constant([review]))
        np.testing.assert_allclose(keras.ops.convert_to_numpy(served(tf.constant([review]))),
                                   keras.ops.convert_to_numpy(token_model(tokens[:, :steps])), atol=1e-6)

    out = tmp_path / "republished"
    result = run_script("scripts/serve_length.py", str(tmp_path / "clipped"), "--serve-max-length", "0",
                        "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()
    clipped, republished = classify.load(tmp_path / "clipped"), classify.load(out)
    assert republished.config.serve_length is None and republished.config.model_dir == str(out)
    token_model, vectorizer = network.parts(clipped.model)
    np.testing.assert_allclose(republished.predict_proba([review]),
                               keras.ops.convert_to_numpy(token_model(vectorizer(tf.constant([review])))),
                               atol=1e-6)
    inside = run_script("scripts/serve_length.py", str(tmp_path / "clipped"), "--serve-max-length", "0",
                        "--out", str(tmp_path / "clipped" / "sub"))
    assert inside.returncode == 1 and inside.stderr.decode().count("\n") == 1
    assert not (tmp_path / "clipped" / "sub").exists()


def test_model_card_is_written_from_the_config_and_the_metrics(tmp_path):
    from sentiment_lstm.export import card

    saved = json.loads(Config(recipe="best", cell="gru", units=7, bigram_dim=16, teacher="nb-lr",
                              serve_max_length=0).to_json(vocabulary_size=321, labels=["negative", "positive"],
                                                          versions={"keras": "3.15.1"}))
    before = card.render(saved, model_dir="models/x")
    assert "Recipe: `best`. Reproduce with `sentiment-lstm train --recipe best`" in before
    assert "Embedding (64-d, 321 tokens) → 1 × GRU (sentiment_lstm.rnn.GRU), 7 units" in before
    assert "learned 16-d bigram vectors" in before and "nb-lr teacher" in before
    encoder = json.loads(Config(cell="transformer", pooling="attention", units=32, heads=4, layers=2).to_json(
        vocabulary_size=50, parameters=4321, labels=["a", "b", "c"]))
    assert ("→ 2 × Transformer encoder block (sentiment_lstm.model.transformer.EncoderBlock), 4 heads, a "
            "feed-forward layer of 32 units, attention pooling → Dense(3, softmax); 4,321 trained parameters."
            in card.render(encoder))
    cropped = json.loads(Config(teacher="nb-lr", crops=2).to_json(vocabulary_size=9, labels=["a", "b"]))
    cropped["data"] = {"source": "t.csv", "classes": {"a": 5, "b": 5}, "train": 10, "unlabeled": None, "crops": 17}
    assert "17 short crops of the texts (sentences and phrases), targeted by the nb-lr teacher" in card.render(cropped)
    assert "teacher on" not in card.render(cropped) and "- No unlabeled texts." in card.render(cropped)
    assert "It reads the whole text" in before
    assert "Not evaluated yet: `sentiment-lstm evaluate --model-dir models/x`" in before
    for section in ("Model details", "Intended use", "Out-of-scope use", "Training data", "Training procedure",
                    "Evaluation data and metrics", "Limitations", "How to load it"):
        assert f"## {section}" in before
    metrics = {"accuracy": 0.91676, "precision": 0.908, "recall": 0.928, "f1": 0.918, "roc_auc": 0.97299,
               "confusion_matrix": [[11324, 1176], [905, 11595]], "n": 25000}
    after = card.render(saved, metrics, model_dir="models/x", evaluated_on="the IMDB test split")
    assert "| 91.68% | 0.9080 | 0.9280 | 0.9180 | 0.9730 |" in after
    assert "On the IMDB test split (25,000 texts" in after and "Not evaluated yet" not in after
    assert "Precision, recall and F1 are those of 'positive'" in after


def test_the_card_describes_the_data_and_each_class_of_a_multi_class_model():
    from sentiment_lstm.export import card

    data = {"source": "tickets.csv", "classes": {"billing": 120, "login": 30, "shipping": 50}, "train": 200,
            "validation": {"source": "tickets.csv", "texts": 22}, "unlabeled": None}
    saved = json.loads(Config(units=7).to_json(vocabulary_size=99, labels=["billing", "login", "shipping"],
                                               data=data, versions={}))
    metrics = {"accuracy": 0.8, "macro_f1": 0.7, "weighted_f1": 0.75, "roc_auc": 0.9, "n": 30,
               "per_class": {"billing": {"precision": 0.9, "recall": 0.8, "f1": 0.85, "support": 18},
                             "login": {"precision": 0.5, "recall": 0.6, "f1": 0.55, "support": 5},
                             "shipping": {"precision": 0.7, "recall": 0.71, "f1": 0.7, "support": 7}},
               "confusion_matrix": [[14, 2, 2], [1, 3, 1], [1, 1, 5]]}
    text = card.render(saved, metrics, model_dir="models/t", evaluated_on="the table test.csv")
    assert "A text classifier of 3 classes" in text and "→ Dense(3, softmax)" in text
    assert "Classes: billing, login, shipping." in text
    assert "`tickets.csv`: 200 labeled texts, of which 120 billing, 30 login, 50 shipping." in text
    assert "Validation: 22 texts of `tickets.csv`, 10% of the labeled texts held out" in text
    assert "| 80.00% | 0.7000 | 0.7500 | 0.9000 |" in text
    assert "| login | 0.5000 | 0.6000 | 0.5500 | 5 |" in text
    assert "IMDB" not in text and "review" not in text


KILLED_IN_WRITE = """
import sys, time
from sentiment_lstm.core import files, layout
from sentiment_lstm.export import publish

def write(staging):
    (staging / "config.json").write_text("half")
    print(staging.name, flush=True)
    time.sleep(600)

files.publish_dir(sys.argv[1], write)
"""


def test_the_next_publish_removes_what_a_killed_publish_left(tmp_path, capsys):
    import signal
    import subprocess
    import sys

    from script_runner import REPO

    target = tmp_path / "model"
    files.publish_dir(target, lambda d: (d / "config.json").write_text("old"))
    (tmp_path / ".other.new-0123abcd").mkdir()  # another model's: not ours to remove
    killed = subprocess.Popen([sys.executable, "-c", KILLED_IN_WRITE, str(target)], cwd=REPO,
                              stdout=subprocess.PIPE)
    try:
        staging = killed.stdout.readline().decode().strip()
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert staging.startswith(".model.new-") and hidden_siblings(target) == sorted([".other.new-0123abcd", staging])
    assert (target / "config.json").read_text() == "old"
    stale_old = tmp_path / ".model.old-89abcdef"  # as a kill between the two renames leaves it
    stale_old.mkdir()

    files.publish_dir(target, lambda d: (d / "config.json").write_text("new"))
    assert (target / "config.json").read_text() == "new"
    assert hidden_siblings(target) == [".other.new-0123abcd"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["model"]  # no lock file
    assert capsys.readouterr().out == (f"Taking over the lock of {target} left by pid {killed.pid}, "
                                       "which is no longer running.\n")
