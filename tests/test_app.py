"""End-to-end tests of train.py, evaluate.py and predict.py on a slice of the real IMDB archive.

One tiny model (1 epoch, 2 x 500 reviews, 8 units) is trained once per session by the
real `train.py` and shared. Everything here is skipped where the archive is missing.
"""
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import sentiment_lstm
from conftest import REAL_ARCHIVE
from script_runner import run_script
from sentiment_lstm.core import recipe
from sentiment_lstm.core.config import Config
from sentiment_lstm.evaluation import evaluate
from sentiment_lstm.model import network
from sentiment_lstm.training import history_files

TRAIN_FLAGS = ["--recipe", "plain", "--data", str(REAL_ARCHIVE), "--limit", "1000", "--epochs", "1", "--units", "8",
               "--embed-dim", "16", "--max-tokens", "5000", "--max-length", "100"]
REVIEWS = ["A wonderful, moving film with great acting.", "Dull plot, awful acting, a waste.",
           "", "   ", "Ein großartiger Film!", "とても良い映画でした", "😀😀😀", "great " * 300]

pytestmark = pytest.mark.skipif(not REAL_ARCHIVE.is_file(),
                                reason=f"the IMDB archive is not at {REAL_ARCHIVE}")


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """(model dir, CompletedProcess) of one `train.py` run shared by the tests."""
    model_dir = tmp_path_factory.mktemp("trained") / "model"
    result = run_script("train.py", *TRAIN_FLAGS, "--model-dir", str(model_dir))
    assert result.returncode == 0, result.stderr.decode()
    return model_dir, result


@pytest.fixture
def model_copy(trained, tmp_path):
    """A private copy of the trained model dir, for tests that write into it."""
    return Path(shutil.copytree(trained[0], tmp_path / "model"))


def test_train_publishes_a_complete_model_dir(trained):
    model_dir, result = trained
    assert result.stderr == b""
    assert b"val_loss" in result.stdout  # verbose=2 without a TTY: one line per epoch
    said = [line.split(" (")[0] for line in result.stdout.decode().splitlines()]
    assert (f"Data: {REAL_ARCHIVE.resolve()}: 900 texts of 2 classes for training (450 negative, 450 positive), "
            "100 held out for validation") in result.stdout.decode()
    assert "Vocabulary: 5,000 tokens" in said and f"Published the model to {model_dir}" in said
    assert any(line.startswith("Trained 1 of 1 epochs: kept epoch 1, val_loss ") for line in said)
    assert {p.name for p in model_dir.iterdir()} == {
        "model.keras", "saved_model", "config.json", "history.json", "history.csv",
        "training_curves.png", "logs", "MODEL_CARD.md"}
    saved = json.loads((model_dir / "config.json").read_text())
    assert Config.from_json((model_dir / "config.json").read_text()) == Config(
        **recipe.load("plain"), recipe="plain",
        data=str(REAL_ARCHIVE), limit=1000, epochs=1, units=8, embed_dim=16, max_tokens=5000,
        max_length=100, model_dir=str(model_dir))
    assert saved["labels"] == ["negative", "positive"]
    assert 100 < saved["vocabulary_size"] <= 5000
    assert saved["versions"]["keras"] == keras.__version__
    history = json.loads((model_dir / "history.json").read_text())
    assert history["epoch"] == [0.0]
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert (model_dir / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["model"]  # no work area left


def test_keras_file_saved_model_and_load_agree(trained, tmp_path):
    model_dir = trained[0]
    by_load = sentiment_lstm.load(model_dir).predict_proba(REVIEWS)
    by_keras = keras.saving.load_model(model_dir / "model.keras").predict(
        tf.constant(REVIEWS), verbose=0)
    bare = run_script("-c", f"""
import json, sys
import tensorflow as tf
loaded = tf.saved_model.load({str(model_dir / "saved_model")!r})
batch = tf.constant(json.loads(sys.stdin.read()))
serve = loaded.serve(batch)
default, = loaded.signatures["serving_default"](batch).values()
assert serve.dtype == tf.float32 and default.dtype == tf.float32
print(json.dumps([serve.numpy().tolist(), default.numpy().tolist(),
                  any(name.startswith("sentiment_lstm") for name in sys.modules)]))
""", stdin=json.dumps(REVIEWS).encode(), cwd=tmp_path)  # cwd: sentiment_lstm is not importable
    assert bare.returncode == 0, bare.stderr.decode()
    serve, serving_default, imported = json.loads(bare.stdout)
    assert not imported
    assert by_load.shape == (len(REVIEWS), 2)
    np.testing.assert_allclose(by_load.sum(axis=1), 1.0, rtol=1e-6)
    for other in (by_keras, serve, serving_default):
        np.testing.assert_allclose(other, by_load, atol=1e-5)


def test_predict_prints_one_json_line_per_review(trained, tmp_path):
    model_dir = trained[0]
    reviews_file = tmp_path / "reviews.txt"
    reviews_file.write_bytes(b"Great film!\r\n\xff\xfe\xfa broken bytes\n\n" + b"long " * 210_000
                             + "\nÉté magnifique 😀\n".encode())
    result = run_script("predict.py", "--model-dir", str(model_dir), "", "   ",
                        "Ein großartiger Film", "-", "--file", str(reviews_file),
                        stdin=b"from stdin \xff\n")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    expected_reviews = ["", "   ", "Ein großartiger Film", "from stdin \ufffd", "Great film!",
                        "\ufffd\ufffd\ufffd broken bytes", "", "long " * 210_000, "Été magnifique 😀"]
    probabilities = sentiment_lstm.load(model_dir).predict_proba(expected_reviews)
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(expected_reviews)
    for line, row in zip(lines, probabilities):
        prediction = json.loads(line)
        assert list(prediction) == ["label", "score", "scores", "known_words"]
        assert list(prediction["scores"]) == ["negative", "positive"]
        assert prediction["label"] == ("negative", "positive")[int(np.argmax(row))]
        assert prediction["score"] == pytest.approx(float(row.max()), abs=1e-5)


def test_evaluate_writes_metrics_and_plots(model_copy):
    result = run_script("evaluate.py", "--model-dir", str(model_copy), "--data", str(REAL_ARCHIVE),
                        "--limit", "200")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    assert b"precision" in result.stdout and b"positive" in result.stdout
    assert b"Wrote metrics_test_limit200.json, confusion_matrix_test_limit200.png, roc_curve_test_limit200.png" in result.stdout
    metrics = json.loads((model_copy / "metrics_test_limit200.json").read_text())
    assert set(metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix", "n", "evaluated_on",
                            "macro_f1", "weighted_f1", "per_class", "labels"}
    assert list(metrics["per_class"]) == metrics["labels"] == ["negative", "positive"]
    assert metrics["f1"] == metrics["per_class"]["positive"]["f1"]
    matrix = np.array(metrics["confusion_matrix"])
    assert metrics["n"] == 200 and matrix.sum() == 200 and matrix.sum(axis=1).tolist() == [100, 100]
    assert metrics["accuracy"] == pytest.approx(np.trace(matrix) / 200)
    assert 0.0 <= metrics["roc_auc"] <= 1.0
    for png in ("confusion_matrix_test_limit200.png", "roc_curve_test_limit200.png"):
        assert (model_copy / png).read_bytes()[:4] == b"\x89PNG"
    assert not (model_copy / "metrics.json").exists()  # that name is the whole test split's


def test_evaluate_on_a_table(model_copy, tmp_path):
    table = tmp_path / "reviews.tsv"
    table.write_text("text\tlabel\nA great film.\tpositive\nAwful.\tnegative\nLoved it\t1\n")
    metrics = evaluate.evaluate(model_copy, table)
    assert metrics["n"] == 3 and np.array(metrics["confusion_matrix"]).sum(axis=1).tolist() == [1, 2]
    assert json.loads((model_copy / "metrics_reviews.json").read_text()) == metrics


def test_evaluate_with_missing_data_is_one_sentence(model_copy):
    result = run_script("evaluate.py", "--model-dir", str(model_copy), "--data", "no/such/data")
    assert result.returncode == 1
    assert result.stderr.decode() == "error: The data path no/such/data does not exist.\n"


def test_same_seed_gives_the_same_history(trained, tmp_path):
    result = run_script("train.py", *TRAIN_FLAGS, "--model-dir", str(tmp_path / "again"))
    assert result.returncode == 0, result.stderr.decode()
    first = json.loads((trained[0] / "history.json").read_text())
    assert json.loads((tmp_path / "again" / "history.json").read_text()) == first


def test_a_killed_run_resumes_after_its_last_epoch(tmp_path):
    flags = [*TRAIN_FLAGS, "--limit", "200", "--epochs", "2", "--model-dir", str(tmp_path / "m")]
    killed = run_script("-c", f"""
import keras
from sentiment_lstm import cli
from sentiment_lstm.core import config, recipe
from sentiment_lstm.training import history_files, loop

class Kill(keras.callbacks.Callback):  # runs after BackupAndRestore has saved the epoch
    def on_epoch_end(self, epoch, logs=None):
        raise SystemExit(9)

args = config.make_parser(cli.ArgumentParser()).parse_args({flags!r})
loop.train(recipe.from_args(args), callbacks=[Kill()])
""")
    assert killed.returncode == 9, killed.stderr.decode()
    work = tmp_path / "m.work"
    assert not (tmp_path / "m").exists() and (work / "backup").is_dir()
    assert history_files.read_history(work / "history.csv")["epoch"] == [0.0]

    resumed = run_script("train.py", *flags)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert b"Epoch 2/2" in resumed.stdout and b"Epoch 1/2" not in resumed.stdout
    assert f"Resuming after epoch 1 from {work / 'backup'}\n".encode() in resumed.stdout
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    assert history["epoch"] == [0.0, 1.0]
    assert not work.exists()


def test_serve_length_republishes_the_model_reading_whole_reviews(trained, tmp_path):
    """`scripts/serve_length.py`: the same weights, reading every token; the old model left as it is."""
    model_dir = trained[0]
    before = sorted(p.name for p in model_dir.iterdir())
    out = tmp_path / "whole"
    result = run_script("scripts/serve_length.py", str(model_dir), "--serve-max-length", "0", "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()
    assert sorted(p.name for p in model_dir.iterdir()) == before
    assert {p.name for p in out.iterdir()} == {p.name for p in model_dir.iterdir()}
    saved = json.loads((out / "config.json").read_text())["hyperparameters"]
    assert saved["serve_max_length"] == 0 and saved["max_length"] == 100 and saved["model_dir"] == str(out)

    long_review = "A wonderful film. " * 20 + "Awful, dull, a waste. " * 60  # over 100 tokens
    old, new = sentiment_lstm.load(model_dir), sentiment_lstm.load(out)
    token_model, vectorizer = network.parts(new.model)  # the same weights and vocabulary as the old model's
    tokens = vectorizer(tf.constant([long_review]))
    assert tokens.shape[1] > 100
    np.testing.assert_allclose(new.predict_proba([long_review]), token_model(tokens).numpy(), atol=1e-5)
    np.testing.assert_allclose(old.predict_proba([long_review]), token_model(tokens[:, :100]).numpy(), atol=1e-5)
    np.testing.assert_allclose(new.predict_proba(REVIEWS[:2]), old.predict_proba(REVIEWS[:2]), atol=1e-6)
    loaded = tf.saved_model.load(str(out / "saved_model"))  # kept: serve() needs its variables alive
    served = loaded.serve(tf.constant([long_review])).numpy()
    np.testing.assert_allclose(served, new.predict_proba([long_review]), atol=1e-5)

    same = run_script("scripts/serve_length.py", str(model_dir), "--serve-max-length", "0", "--out", str(model_dir))
    assert same.returncode != 0 and same.stderr.decode().count("\n") == 1 and b"outside the model's own" in same.stderr
    bad = run_script("scripts/serve_length.py", str(model_dir), "--serve-max-length", "-3", "--out", str(out))
    assert bad.returncode == 2 and b"at least 0" in bad.stderr
