"""inference.py: predictions, reading reviews from files, and loading a model directory."""
import argparse
import io

import numpy as np
import pytest
from conftest import TEXTS

from sentiment_lstm import inference
from sentiment_lstm.config import Config
from sentiment_lstm.data import LABELS
from sentiment_lstm.errors import UserError



def test_predict_gives_the_label_and_its_probability(end_to_end):
    classifier = inference.SentimentClassifier(end_to_end, LABELS)
    reviews = TEXTS + ["", "x" * 10_000]
    probabilities = classifier.predict_proba(reviews)
    predictions = classifier.predict(reviews)
    assert probabilities.shape == (len(reviews), 2) and probabilities.dtype == np.float32
    for prediction, row in zip(predictions, probabilities):
        assert set(prediction) == {"label", "score", "known_words"}
        assert prediction["label"] == LABELS[int(np.argmax(row))]
        assert prediction["score"] == pytest.approx(float(row.max()), abs=1e-7)
        assert 0.5 <= prediction["score"] <= 1.0
    assert classifier.predict([]) == []
    assert classifier.predict_proba([]).shape == (0, 2)


def test_known_words_counts_the_vocabulary_words_the_model_reads(end_to_end):
    classifier = inference.SentimentClassifier(end_to_end, LABELS)
    reviews = {"a good good film": 4, "": 0, "😀😀 ∑": 0, "zzz qqq": 0, "とても良い": 0,
               "good zzz bad": 2, "good " * 10: 5}  # the model reads 5 tokens (max_length 5)
    assert [p["known_words"] for p in classifier.predict(list(reviews))] == list(reviews.values())


def test_read_texts_decodes_any_bytes(tmp_path, monkeypatch):
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"good\r\n\xff\xfe broken bytes\n\nlast without newline")
    assert inference.read_texts(["first"], [str(path)]) == [
        "first", "good", "\ufffd\ufffd broken bytes", "", "last without newline"]
    (tmp_path / "empty.txt").write_bytes(b"")
    assert inference.read_texts(files=[str(tmp_path / "empty.txt")]) == []
    monkeypatch.setattr("sys.stdin", argparse.Namespace(buffer=io.BytesIO("émoji 😀\n".encode())))
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


