"""folding.py: the token model with its word embedding folded into the recurrent layer's
input weights gives the token model's probabilities (1e-5) for every cell, with and
without n-grams, on rows of every length, empty ones included; its hash tables find the
rows `ngrams.lookup` finds; models it cannot fold get None and serve as they are; and
serving takes the fold where it applies (the word embedding is never read)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment_lstm.core.config import Config
from sentiment_lstm.inference import folding, serving
from sentiment_lstm.model import network, ngrams
from sentiment_lstm.rnn import compiled

RNG = np.random.default_rng(5)
VOCABULARY, TIME, TOL = 30, 40, 1e-5


def token_model(**config):
    """A token model with random weights large enough that its probabilities spread; its
    n-gram keys those of random rows."""
    config = Config(**{"units": 5, "embed_dim": 6, "dense_dropout": 0.0, "embedding_dropout": 0.0, **config})
    sample = tf.ragged.constant([list(RNG.integers(2, VOCABULARY, n)) for n in (30, 25, 40, 12)])
    keys = {n: ngrams.frequent(sample, VOCABULARY, min_count=1, order=n) for n in (2, 3)}
    built = network.build_token_model(VOCABULARY, config, keys)
    built.set_weights([w if w.dtype == np.int64 else RNG.normal(scale=1.2, size=w.shape).astype(w.dtype)
                       for w in built.get_weights()])
    return built


def tokens(rows=7):
    """Right-padded token ids: full, empty, one token, and random lengths; ids 0 to V - 1
    (1 is out of vocabulary), so some n-grams are kept and some are not."""
    lengths = np.array([TIME, 0, 1, *RNG.integers(0, TIME, rows - 3)])
    ids = RNG.integers(1, VOCABULARY, (rows, TIME))
    return tf.constant(np.where(np.arange(TIME)[None, :] < lengths[:, None], ids, 0).astype("int32"))


FOLDABLE = {
    "words": {},
    "bigrams": {"bigram_dim": 3},
    "bigrams-and-trigrams": {"bigram_dim": 3, "trigram_dim": 2},
    "gru": {"cell": "gru", "bigram_dim": 3},
    "simple-rnn": {"cell": "rnn"},
}


PARITY = [(name, 8) for name in FOLDABLE] + [(name, compiled.MOST_PROJECTED_ROWS + 1) for name in ("words", "gru")]


@pytest.mark.parametrize("name,rows", PARITY, ids=[f"{name}-{rows}-rows" for name, rows in PARITY])
def test_the_fold_gives_the_token_models_probabilities(name, rows, recurrence_runs):
    config = FOLDABLE[name]
    built = token_model(**config)
    folded = folding.fold(built)
    assert folded is not None
    batch = tokens(rows)
    expected = built(batch, training=False).numpy()
    assert np.ptp(expected[:, 1]) > 0.01  # the rows differ (by far more than the tolerance): a mistake would show
    before = dict(recurrence_runs)
    np.testing.assert_allclose(tf.function(folded)(batch).numpy(), expected, atol=TOL, rtol=0)
    if config.get("cell", "lstm") == "lstm":  # the LSTM's fast paths, each taking projected inputs
        path = "compiled" if rows <= compiled.MOST_PROJECTED_ROWS else "packed"
        assert recurrence_runs[path] == before[path] + 1


def test_the_folded_table_is_the_embedding_times_the_word_rows_of_the_kernel_plus_the_bias():
    built = token_model(bigram_dim=3)
    inputs = folding.fold(built).resources[0]
    embedding, cell = built.get_layer("embedding"), built.get_layer("recurrent_0").cell
    kernel, bias = cell.kernel.numpy(), cell.bias.numpy()
    expected = embedding.embeddings.numpy() @ kernel[:6] + bias
    np.testing.assert_allclose(inputs.word_table.numpy(), expected, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(inputs.ngram_kernel.numpy(), kernel[6:])


def test_the_hash_tables_find_the_rows_the_sorted_keys_give():
    built = token_model(bigram_dim=3, trigram_dim=2)
    inputs = folding.fold(built).resources[0]
    batch = tokens(20)
    for order in (2, 3):
        layer = built.get_layer(f"{ngrams.ORDERS[order]}_embedding")
        by_hash = inputs.index(layer, inputs.tables[inputs.ngram_layers.index(layer)], batch).numpy()
        by_search = layer.index(batch).numpy()
        np.testing.assert_array_equal(by_hash, by_search)
        assert (by_search > 0).any() and (by_search == 0).any()  # kept n-grams and others


NOT_FOLDABLE = {
    "bidirectional": {"bidirectional": True},
    "two-layers": {"layers": 2},
    "max-pooling": {"pooling": "max"},
    "linear-ngrams": {"bigram_dim": 3, "linear_ngrams": True},
    "keras-lstm": {"cell": "keras-lstm"},
}


@pytest.mark.parametrize("config", NOT_FOLDABLE.values(), ids=NOT_FOLDABLE.keys())
def test_other_models_are_not_folded_and_serve_as_they_are(config):
    built = token_model(**config)
    assert folding.fold(built) is None
    texts = ["a b c", "", "b c a b"]
    vectorizer = keras.layers.TextVectorization(max_tokens=VOCABULARY, output_mode="int", ragged=False)
    vectorizer.adapt(["a b c d e"])
    end_to_end = network.build_end_to_end(built, vectorizer, None)
    probabilities = serving.probabilities_fn(end_to_end)
    assert probabilities.resources == []
    np.testing.assert_allclose(probabilities(tf.constant(texts)).numpy(),
                               end_to_end(tf.constant(texts), training=False).numpy(), atol=TOL, rtol=0)


def test_serving_takes_the_fold_and_never_reads_the_word_embedding(monkeypatch):
    built = token_model(bigram_dim=3)
    vectorizer = keras.layers.TextVectorization(max_tokens=VOCABULARY, output_mode="int", ragged=False)
    vectorizer.adapt([" ".join(f"w{k}" for k in range(VOCABULARY))])
    end_to_end = network.build_end_to_end(built, vectorizer, None)
    texts = tf.constant(["w3 w4 w5 w3 w4", "", "w7 w2 w9 w9 w1 w0 w8"])
    expected = end_to_end(texts, training=False).numpy()
    probabilities = serving.probabilities_fn(end_to_end)
    assert isinstance(probabilities.resources[0], folding.FoldedInputs)
    embedding = built.get_layer("embedding")
    monkeypatch.setattr(embedding, "call", lambda *a, **k: pytest.fail("the word embedding was read"))
    np.testing.assert_allclose(tf.function(probabilities)(texts).numpy(), expected, atol=TOL, rtol=0)
