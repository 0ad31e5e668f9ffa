"""Tests of config.py, model.py, export.py and inference.py on tiny synthetic data (no training)."""
import argparse
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment_lstm import cli, export, inference, layers, model, text
from sentiment_lstm.config import Config, from_args, make_parser
from sentiment_lstm.data import LABELS
from sentiment_lstm.errors import UserError

TINY = Config(units=4, embed_dim=8, dense_dropout=0.0, embedding_dropout=0.0)
TEXTS = ["a good good film", "a bad bad film", "good acting", "bad plot, bad acting!"]


@pytest.fixture(scope="module")
def end_to_end():
    """An untrained end-to-end model over a vocabulary adapted on TEXTS, max_length 5."""
    vectorizer = text.make_vectorizer(TEXTS, max_tokens=20)
    token_model = model.build_token_model(vectorizer.vocabulary_size(), TINY)
    return model.build_end_to_end(token_model, vectorizer, max_length=5)


# --- config.py ---------------------------------------------------------------------------


def test_config_json_round_trip():
    config = Config(cell="gru", layers=2, bidirectional=True, limit=100, learning_rate=3e-4)
    saved = config.to_json(vocabulary_size=123, labels=list(LABELS))
    assert json.loads(saved)["vocabulary_size"] == 123
    assert Config.from_json(saved) == config
    assert Config.from_json(saved) != Config()


def test_flags_are_generated_from_the_fields():
    parser = make_parser(cli.ArgumentParser())
    assert from_args(parser.parse_args([])) == Config()
    args = parser.parse_args(["--cell", "rnn", "--units", "8", "--bidirectional", "--no-bucket",
                              "--learning-rate", "0.01", "--model-dir", "out"])
    assert from_args(args) == Config(cell="rnn", units=8, bidirectional=True, bucket=False,
                                     learning_rate=0.01, model_dir="out")
    assert from_args(args).output_dir == "out"
    assert Config(name="x").output_dir == "models/x"


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "-1"], "error: argument --epochs: must be at least 1, not -1\n"),
    (["--cell", "foo"], "error: argument --cell: must be one of lstm, gru, rnn, keras-lstm, not 'foo'\n"),
    (["--units", "many"], "error: argument --units: expected int, got 'many'\n"),
    (["--val-fraction", "nan"], "error: argument --val-fraction: must be a finite number, not nan\n"),
])
def test_bad_flag_is_one_line_and_exit_2(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        make_parser(cli.ArgumentParser()).parse_args(flags)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message


def test_config_checks_values_and_combinations():
    with pytest.raises(UserError, match="--dropout must be at most 0.9, not 1.5"):
        Config(dropout=1.5)
    with pytest.raises(UserError, match="--jit-compile needs --no-deterministic"):
        Config(jit_compile=True)
    with pytest.raises(UserError, match="keras-lstm"):
        Config(jit_compile=True, deterministic=False, cell="keras-lstm")
    assert Config(jit_compile=True, deterministic=False).jit_compile


# --- model.py ----------------------------------------------------------------------------


@pytest.mark.parametrize("cell, expected", [
    ("lstm", layers.LSTM), ("gru", layers.GRU), ("rnn", layers.SimpleRNN),
    ("keras-lstm", keras.layers.LSTM)])
def test_cell_flag_picks_the_layer_class(cell, expected):
    assert model.recurrent_layer_class(cell) is expected
    built = model.build_token_model(50, Config(cell=cell, units=4, embed_dim=8, layers=2))
    recurrent = [layer for layer in built.layers if isinstance(layer, expected)]
    assert [type(layer) for layer in recurrent] == [expected, expected]
    assert [layer.return_sequences for layer in recurrent] == [True, False]


def test_unknown_cell_is_a_value_error():
    with pytest.raises(ValueError, match="Received: cell='lstm2'"):
        model.recurrent_layer_class("lstm2")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "keras-lstm"])
@pytest.mark.parametrize("bidirectional, stacked", [(False, 1), (True, 2)])
def test_token_model_gives_probabilities(cell, bidirectional, stacked):
    config = Config(cell=cell, units=3, embed_dim=4, bidirectional=bidirectional, layers=stacked)
    built = model.build_token_model(30, config)
    tokens = np.array([[5, 9, 2, 0, 0], [7, 7, 7, 7, 7], [0, 0, 0, 0, 0]], "int32")
    probabilities = keras.ops.convert_to_numpy(built(tokens))
    assert probabilities.shape == (3, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert (probabilities > 0).all()
    if bidirectional:
        wrappers = [layer for layer in built.layers if isinstance(layer, keras.layers.Bidirectional)]
        assert len(wrappers) == stacked
        assert isinstance(wrappers[0].forward_layer, model.recurrent_layer_class(cell))


def test_padding_is_masked():
    built = model.build_token_model(30, TINY)
    short = keras.ops.convert_to_numpy(built(np.array([[5, 9, 2]], "int32")))
    padded = keras.ops.convert_to_numpy(built(np.array([[5, 9, 2, 0, 0, 0]], "int32")))
    np.testing.assert_allclose(padded, short, atol=1e-6)


def test_masked_max_pooling_takes_the_valid_steps_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 7, 3)).astype("float32") - 2.0  # mostly negative: padding must not win
    mask = rng.random((5, 7)) < 0.6
    mask[3] = False  # a row without a valid step
    got = keras.ops.convert_to_numpy(model.MaskedMaxPooling1D()(x, mask=mask))
    for row in range(5):
        expected = x[row][mask[row]].max(axis=0) if mask[row].any() else np.zeros(3)
        np.testing.assert_allclose(got[row], expected, rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.MaskedMaxPooling1D()(x)), x.max(axis=1))


@pytest.mark.parametrize("pooling, width", [("max", 4), ("mean", 4), ("max-mean", 8)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooled_review_vector_ignores_padding(pooling, width, bidirectional):
    """Each pooling gives the review vector of the review's own steps: padding changes
    nothing, in training (the packed path) and inference, one or both directions."""
    config = Config(units=4, embed_dim=8, dense_dropout=0.0, embedding_dropout=0.0,
                    pooling=pooling, bidirectional=bidirectional)
    built = model.build_token_model(30, config)
    vector = keras.Model(built.input, built.get_layer("dense_dropout").input)
    assert vector.output.shape == (None, width * (2 if bidirectional else 1))
    short, padded = np.array([[5, 9, 2, 7]], "int32"), np.array([[5, 9, 2, 7, 0, 0, 0]], "int32")
    for training in (False, True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(vector(padded, training=training)),
                                   keras.ops.convert_to_numpy(vector(short, training=training)), atol=1e-6)


def test_pooled_model_round_trips_through_keras_file(tmp_path):
    built = model.build_token_model(30, Config(units=4, embed_dim=8, pooling="max-mean"))
    built.save(tmp_path / "pooled.keras")
    loaded = keras.saving.load_model(tmp_path / "pooled.keras", safe_mode=True)
    tokens = np.array([[5, 9, 2, 0], [3, 0, 0, 0]], "int32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(tokens)),
                               keras.ops.convert_to_numpy(built(tokens)), atol=1e-6)


def test_token_model_is_compiled_as_specified():
    built = model.build_token_model(30, Config(learning_rate=0.005, units=2, embed_dim=2, steps_per_execution=3))
    assert built.steps_per_execution == 3
    assert isinstance(built.optimizer, keras.optimizers.Adam)
    assert float(built.optimizer.learning_rate) == pytest.approx(0.005)
    assert isinstance(built.loss, str) and built.loss == "categorical_crossentropy"
    assert built.get_layer("embedding").mask_zero


def test_pad_to_min_length():
    pad = model.PadToMinLength()
    np.testing.assert_array_equal(pad(np.zeros((3, 0), "int32")), np.zeros((3, 1), "int32"))
    tokens = np.array([[4, 5, 0], [6, 0, 0]], "int32")
    np.testing.assert_array_equal(pad(tokens), tokens)
    assert model.PadToMinLength.from_config(model.PadToMinLength(2).get_config()).min_length == 2
    with pytest.raises(ValueError, match="Received: min_length=0"):
        model.PadToMinLength(0)


def test_end_to_end_takes_raw_strings(end_to_end):
    reviews = ["a good good film", "", "   ", "😀 <br />", "good " * 5 + "bad " * 500]
    probabilities = keras.ops.convert_to_numpy(end_to_end(tf.constant(reviews)))
    assert probabilities.shape == (5, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    # Empty and token-less reviews are the same (fully masked) input.
    np.testing.assert_allclose(probabilities[1], probabilities[2], atol=1e-6)
    np.testing.assert_allclose(probabilities[1], probabilities[3], atol=1e-6)
    # ClipTokens(5) keeps the first 5 tokens: the 500 "bad" after them do not count.
    only_first = keras.ops.convert_to_numpy(end_to_end(tf.constant(["good " * 5])))
    np.testing.assert_allclose(probabilities[4], only_first[0], atol=1e-6)


def test_end_to_end_without_a_clip_reads_the_whole_review(end_to_end):
    token_model, vectorizer = model.parts(end_to_end)
    whole = model.build_end_to_end(token_model, vectorizer, max_length=None)
    assert "clip_tokens" not in [layer.name for layer in whole.layers]
    review = "good " * 5 + "bad " * 50
    tokens = vectorizer(tf.constant([review]))
    assert tokens.shape[1] == 55
    np.testing.assert_allclose(keras.ops.convert_to_numpy(whole(tf.constant([review]))),
                               keras.ops.convert_to_numpy(token_model(tokens)), atol=1e-6)
    clipped = keras.ops.convert_to_numpy(end_to_end(tf.constant([review])))
    np.testing.assert_allclose(clipped, keras.ops.convert_to_numpy(token_model(tokens[:, :5])), atol=1e-6)
    assert not np.allclose(clipped, keras.ops.convert_to_numpy(whole(tf.constant([review]))))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(whole(tf.constant(["", ""]))).sum(1), 1.0, rtol=1e-6)


def test_serve_length_is_max_length_unless_set():
    assert Config(max_length=30).serve_length == 30
    assert Config(max_length=30, serve_max_length=50).serve_length == 50
    assert Config(max_length=30, serve_max_length=0).serve_length is None  # the whole review
    with pytest.raises(UserError, match="--serve-max-length must be at least 0"):
        Config(serve_max_length=-1)


def test_a_batch_of_empty_reviews_has_a_prediction(end_to_end):
    probabilities = keras.ops.convert_to_numpy(end_to_end(tf.constant(["", ""])))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_end_to_end_reloads_in_safe_mode(end_to_end, tmp_path):
    end_to_end.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    batch = tf.constant(TEXTS + ["unknown words only"])
    np.testing.assert_allclose(reloaded(batch), end_to_end(batch), atol=1e-6)


# --- export.py ---------------------------------------------------------------------------


def hidden_siblings(directory):
    return sorted(p.name for p in directory.parent.iterdir() if p.name.startswith("."))


def test_publish_dir_replaces_the_old_directory(tmp_path):
    target = tmp_path / "model"
    export.publish_dir(target, lambda d: [(d / name).write_text("old")
                                          for name in ("config.json", "metrics.json")])
    export.publish_dir(target, lambda d: (d / "config.json").write_text("new"))
    assert [p.name for p in target.iterdir()] == ["config.json"]
    assert (target / "config.json").read_text() == "new"
    assert hidden_siblings(target) == []


def test_publish_dir_keeps_the_old_directory_when_writing_fails(tmp_path):
    target = tmp_path / "model"
    export.publish_dir(target, lambda d: (d / "config.json").write_text("old"))

    def fail_halfway(directory):
        (directory / "config.json").write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        export.publish_dir(target, fail_halfway)
    assert (target / "config.json").read_text() == "old"
    assert hidden_siblings(target) == []


def test_publish_dir_restores_the_old_directory_when_the_swap_fails(tmp_path, monkeypatch):
    target = tmp_path / "model"
    export.publish_dir(target, lambda d: (d / "config.json").write_text("old"))
    real_replace, calls = export.os.replace, []

    def replace(source, destination):  # the 2nd rename (new -> target) fails
        calls.append(source)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied")
        real_replace(source, destination)

    monkeypatch.setattr(export.os, "replace", replace)
    with pytest.raises(PermissionError):
        export.publish_dir(target, lambda d: (d / "config.json").write_text("new"))
    assert (target / "config.json").read_text() == "old"
    assert hidden_siblings(target) == []


def test_publish_dir_never_replaces_other_files(tmp_path, monkeypatch):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(UserError, match="already holds files that are not a trained model"):
        export.publish_dir(tmp_path / "notes", lambda d: None)
    monkeypatch.chdir(tmp_path / "notes")
    with pytest.raises(UserError, match="already holds files"):
        export.check_replaceable(".")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    assert export.check_replaceable("../empty") == tmp_path / "empty"


def test_atomic_file_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "metrics.json"
    with export.atomic_file(path) as tmp:
        tmp.write_text('{"accuracy": 0.9}')
    with pytest.raises(RuntimeError):
        with export.atomic_file(path) as tmp:
            tmp.write_text('{"accur')
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"accuracy": 0.9}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_failed_export_leaves_the_old_model_intact(end_to_end, tmp_path, monkeypatch):
    target = tmp_path / "model"
    export.publish_dir(target, lambda d: export.write_model(d, end_to_end, TINY, 20))
    before = inference.load(target).predict_proba(TEXTS)
    old_config = (target / export.CONFIG_FILE).read_text()

    def failing_export(self, *args, **kwargs):  # model.keras is written, then this fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "export", failing_export)
    with pytest.raises(OSError):
        export.publish_dir(target, lambda d: export.write_model(d, end_to_end, Config(), 20))
    assert (target / export.CONFIG_FILE).read_text() == old_config
    assert (target / export.SAVED_MODEL_DIR / "saved_model.pb").is_file()
    np.testing.assert_allclose(inference.load(target).predict_proba(TEXTS), before, atol=1e-6)
    assert hidden_siblings(target) == []


# --- inference.py ------------------------------------------------------------------------


def test_predict_gives_the_label_and_its_probability(end_to_end):
    classifier = inference.SentimentClassifier(end_to_end, LABELS)
    reviews = TEXTS + ["", "x" * 10_000]
    probabilities = classifier.predict_proba(reviews)
    predictions = classifier.predict(reviews)
    assert probabilities.shape == (len(reviews), 2) and probabilities.dtype == np.float32
    for prediction, row in zip(predictions, probabilities):
        assert set(prediction) == {"label", "score"}
        assert prediction["label"] == LABELS[int(np.argmax(row))]
        assert prediction["score"] == pytest.approx(float(row.max()), abs=1e-7)
        assert 0.5 <= prediction["score"] <= 1.0
    assert classifier.predict([]) == []
    assert classifier.predict_proba([]).shape == (0, 2)


def test_read_texts_decodes_any_bytes(tmp_path, monkeypatch):
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"good\r\n\xff\xfe broken bytes\n\nlast without newline")
    assert inference.read_texts(["first"], [str(path)]) == [
        "first", "good", "\ufffd\ufffd broken bytes", "", "last without newline"]
    (tmp_path / "empty.txt").write_bytes(b"")
    assert inference.read_texts(files=[str(tmp_path / "empty.txt")]) == []
    monkeypatch.setattr("sys.stdin", argparse.Namespace(buffer=argparse.Namespace(
        read=lambda: "émoji 😀\n".encode())))
    assert inference.read_texts(["-"]) == ["émoji 😀"]
    with pytest.raises(UserError, match="Cannot read"):
        inference.read_texts(files=[str(tmp_path / "missing.txt")])


def test_load_reports_a_bad_model_dir_in_one_sentence(tmp_path):
    with pytest.raises(UserError, match="There is no model directory"):
        inference.load(tmp_path / "missing")
    with pytest.raises(UserError, match="has no config.json"):
        inference.load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="config.json is corrupt"):
        inference.load(tmp_path)
    (tmp_path / "config.json").write_text(Config().to_json(labels=list(LABELS)))
    with pytest.raises(UserError, match="has no model.keras"):
        inference.load(tmp_path)
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="model.keras is corrupt"):
        inference.load(tmp_path)


def test_trained_model_serves_the_length_asked_for_and_can_be_republished(imdb_folder, tmp_path):
    """`train(serve_max_length=0)` publishes a model reading whole reviews; `scripts/serve_length.py`
    republishes a clipped one with the same weights, reading whole reviews too."""
    from script_runner import run_script

    from sentiment_lstm import training

    review = "Dull plot. " * 3 + "A joy, a great film! " * 10  # longer than the 2 tokens trained on
    common = dict(data=str(imdb_folder), val_fraction=0.5, epochs=1, units=2, embed_dim=2, max_length=2,
                  deterministic=False)  # op determinism is process-wide and would turn XLA off in later tests
    training.train(Config(serve_max_length=0, model_dir=str(tmp_path / "whole"), **common))
    training.train(Config(model_dir=str(tmp_path / "clipped"), **common))
    for name, steps in (("whole", None), ("clipped", 2)):
        served = inference.load(tmp_path / name).model
        token_model, vectorizer = model.parts(served)
        assert ("clip_tokens" in [layer.name for layer in served.layers]) == (steps is not None)
        tokens = vectorizer(tf.constant([review]))
        np.testing.assert_allclose(keras.ops.convert_to_numpy(served(tf.constant([review]))),
                                   keras.ops.convert_to_numpy(token_model(tokens[:, :steps])), atol=1e-6)

    out = tmp_path / "republished"
    result = run_script("scripts/serve_length.py", str(tmp_path / "clipped"), "--serve-max-length", "0",
                        "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()
    clipped, republished = inference.load(tmp_path / "clipped"), inference.load(out)
    assert republished.config.serve_length is None and republished.config.model_dir == str(out)
    token_model, vectorizer = model.parts(clipped.model)
    np.testing.assert_allclose(republished.predict_proba([review]),
                               keras.ops.convert_to_numpy(token_model(vectorizer(tf.constant([review])))),
                               atol=1e-6)
    inside = run_script("scripts/serve_length.py", str(tmp_path / "clipped"), "--serve-max-length", "0",
                        "--out", str(tmp_path / "clipped" / "sub"))
    assert inside.returncode == 1 and inside.stderr.decode().count("\n") == 1
    assert not (tmp_path / "clipped" / "sub").exists()
