"""inference.py: predictions, reading reviews from files, and loading a model directory."""
import argparse
import io

import keras
import numpy as np
import pytest

from conftest import TEXTS
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.imdb import CLASS_NAMES as LABELS
from sentiment_lstm.inference import classify, score_files


def test_predict_gives_the_label_and_its_probability(end_to_end):
    classifier = classify.Classifier(end_to_end, LABELS)
    reviews = TEXTS + ["", "x" * 10_000]
    probabilities = classifier.predict_proba(reviews)
    predictions = classifier.predict(reviews)
    assert probabilities.shape == (len(reviews), 2) and probabilities.dtype == np.float32
    for prediction, row in zip(predictions, probabilities):
        assert list(prediction) == ["label", "score", "scores", "known_words"]
        assert prediction["label"] == LABELS[int(np.argmax(row))]
        assert prediction["score"] == pytest.approx(float(row.max()), abs=1e-7)
        assert 0.5 <= prediction["score"] <= 1.0
        assert list(prediction["scores"]) == list(LABELS)
        np.testing.assert_allclose(list(prediction["scores"].values()), row, atol=1e-7)
    assert classifier.predict([]) == []
    assert classifier.predict_proba([]).shape == (0, 2)


def test_known_words_counts_the_vocabulary_words_the_model_reads(end_to_end):
    classifier = classify.Classifier(end_to_end, LABELS)
    reviews = {"a good good film": 4, "": 0, "😀😀 ∑": 0, "zzz qqq": 0, "とても良い": 0,
               "good zzz bad": 2, "good " * 10: 5}  # the model reads 5 tokens (max_length 5)
    assert [p["known_words"] for p in classifier.predict(list(reviews))] == list(reviews.values())


def test_known_words_come_from_the_same_call_as_the_probabilities(end_to_end, monkeypatch):
    classifier = classify.Classifier(end_to_end, LABELS)
    classifier.predict(["a film"])  # traces the scoring function
    vectorizer = next(layer for layer in end_to_end.layers if isinstance(layer, keras.layers.TextVectorization))
    monkeypatch.setattr(vectorizer, "call", lambda *a, **k: pytest.fail("the vectorizer ran outside the scoring call"))
    assert [p["known_words"] for p in classifier.predict(["good zzz bad"])] == [2]


def test_an_eager_classifier_answers_as_the_traced_one_and_compiles_nothing(end_to_end, recurrence_runs):
    reviews = TEXTS + ["", "good " * 40, "x" * 1_000]
    expected = classify.Classifier(end_to_end, LABELS).predict(reviews)
    assert recurrence_runs["compiled"] > 0  # the traced classifier runs the compiled chunks
    recurrence_runs.update(compiled=0, packed=0)
    eager = classify.Classifier(end_to_end, LABELS, eager=True)
    eager.warm_up()  # nothing to compile
    predictions = eager.predict(reviews)
    assert recurrence_runs["compiled"] == 0 < recurrence_runs["packed"]  # over packed sequences, never compiled
    assert [p["label"] for p in predictions] == [p["label"] for p in expected]
    assert [p["known_words"] for p in predictions] == [p["known_words"] for p in expected]
    np.testing.assert_allclose([p["score"] for p in predictions], [p["score"] for p in expected], atol=1e-6)
    assert classify.Classifier(end_to_end, LABELS).predict(reviews[:2])  # `off()` ended with the eager calls
    assert recurrence_runs["compiled"] > 0


def test_warm_up_compiles_every_row_count_of_the_compiled_chunks(end_to_end, monkeypatch):
    import tensorflow as tf

    from sentiment_lstm.rnn import compiled

    rows_seen, compiled_chunk = set(), compiled._compiled_chunk

    def recording_chunk(cell, projected=False):
        run = compiled_chunk(cell, projected)

        def recorded(x, *args):
            seen = tf.py_function(lambda rows: rows_seen.add(int(rows)) or 0, [tf.shape(x)[1]], tf.int32)  # x: (CHUNK, rows, width)
            with tf.control_dependencies([seen]):
                return run(tf.identity(x), *args)

        return recorded

    monkeypatch.setattr(compiled, "_compiled_chunk", recording_chunk)
    classifier = classify.Classifier(end_to_end, LABELS)
    classifier.warm_up(most_rows=20)  # a server's batches of at most 20 reviews (the model folds)
    assert rows_seen == {1, 2, 4, 8, 16, 32}  # one XLA program per row count up to the one that holds 20
    assert set(compiled.row_sizes(None, projected=True)) == set(compiled.ROW_SIZES)  # warm_up(): all


def test_read_texts_decodes_any_bytes(tmp_path, monkeypatch):
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"good\r\n\xff\xfe broken bytes\n\nlast without newline")
    assert score_files.read_texts(["first"], [str(path)]) == [
        "first", "good", "\ufffd\ufffd broken bytes", "", "last without newline"]
    (tmp_path / "empty.txt").write_bytes(b"")
    assert score_files.read_texts(files=[str(tmp_path / "empty.txt")]) == []
    monkeypatch.setattr("sys.stdin", argparse.Namespace(buffer=io.BytesIO("émoji 😀\n".encode())))
    assert score_files.read_texts(["-"]) == ["émoji 😀"]
    with pytest.raises(UserError, match="Cannot read"):
        score_files.read_texts(files=[str(tmp_path / "missing.txt")])


def test_load_reports_a_bad_model_dir_in_one_sentence(tmp_path):
    with pytest.raises(UserError, match="There is no model directory"):
        classify.load(tmp_path / "missing")
    with pytest.raises(UserError, match="has no config.json"):
        classify.load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="config.json is corrupt"):
        classify.load(tmp_path)
    (tmp_path / "config.json").write_text(Config().to_json(labels=list(LABELS)))
    with pytest.raises(UserError, match="has no model.keras"):
        classify.load(tmp_path)
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="model.keras is corrupt"):
        classify.load(tmp_path)




def test_top_k_keeps_the_most_probable_classes_most_probable_first(end_to_end):
    classifier = classify.Classifier(end_to_end, LABELS)
    row = classifier.predict_proba(["a good good film"])[0]
    [top] = classifier.predict(["a good good film"], top_k=1)
    assert top["scores"] == {LABELS[int(row.argmax())]: pytest.approx(float(row.max()), abs=1e-7)}
    [both] = classifier.predict(["a good good film"], top_k=5)
    assert list(both["scores"]) == [LABELS[k] for k in np.argsort(-row)]
