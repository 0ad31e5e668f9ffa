"""model.py: the token model, pooling, padding, and the end-to-end model on raw strings."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import TEXTS
from sentiment_lstm import rnn
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.model import network, pooling, transformer

TINY = Config(units=4, embed_dim=8, dense_dropout=0.0, embedding_dropout=0.0)


@pytest.mark.parametrize("cell, expected", [
    ("lstm", rnn.LSTM), ("gru", rnn.GRU), ("rnn", rnn.SimpleRNN),
    ("keras-lstm", keras.layers.LSTM)])
def test_cell_flag_picks_the_layer_class(cell, expected):
    assert network.recurrent_layer_class(cell) is expected
    built = network.build_token_model(50, Config(cell=cell, units=4, embed_dim=8, layers=2))
    recurrent = [layer for layer in built.layers if isinstance(layer, expected)]
    assert [type(layer) for layer in recurrent] == [expected, expected]
    assert [layer.return_sequences for layer in recurrent] == [True, False]


def test_unknown_cell_is_a_value_error():
    with pytest.raises(ValueError, match="Received: cell='lstm2'"):
        network.recurrent_layer_class("lstm2")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "keras-lstm"])
@pytest.mark.parametrize("bidirectional, stacked", [(False, 1), (True, 2)])
def test_token_model_gives_probabilities(cell, bidirectional, stacked):
    config = Config(cell=cell, units=3, embed_dim=4, bidirectional=bidirectional, layers=stacked)
    built = network.build_token_model(30, config)
    tokens = np.array([[5, 9, 2, 0, 0], [7, 7, 7, 7, 7], [0, 0, 0, 0, 0]], "int32")
    probabilities = keras.ops.convert_to_numpy(built(tokens))
    assert probabilities.shape == (3, 2)
    # The head by hand: softmax(W r + b) of the review vector r the recurrent layers give,
    # with inference's dropout off (a mis-wired or dropping head fails here).
    head = built.get_layer("probabilities")
    review_vector = keras.Model(built.input, head.input)(tokens)
    W, b = head.get_weights()
    scores = keras.ops.convert_to_numpy(review_vector) @ W + b
    expected = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(1, keepdims=True), atol=1e-6)
    assert not np.allclose(probabilities[0], probabilities[1], atol=1e-6)  # the tokens matter
    if bidirectional:
        wrappers = [layer for layer in built.layers if isinstance(layer, keras.layers.Bidirectional)]
        assert len(wrappers) == stacked
        assert isinstance(wrappers[0].forward_layer, network.recurrent_layer_class(cell))


def test_padding_is_masked():
    built = network.build_token_model(30, TINY)
    short = keras.ops.convert_to_numpy(built(np.array([[5, 9, 2]], "int32")))
    padded = keras.ops.convert_to_numpy(built(np.array([[5, 9, 2, 0, 0, 0]], "int32")))
    np.testing.assert_allclose(padded, short, atol=1e-6)


def test_masked_max_pooling_takes_the_valid_steps_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 7, 3)).astype("float32") - 2.0  # mostly negative: padding must not win
    mask = rng.random((5, 7)) < 0.6
    mask[3] = False  # a row without a valid step
    got = keras.ops.convert_to_numpy(pooling.MaskedMaxPooling1D()(x, mask=mask))
    for row in range(5):
        expected = x[row][mask[row]].max(axis=0) if mask[row].any() else np.zeros(3)
        np.testing.assert_allclose(got[row], expected, rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooling.MaskedMaxPooling1D()(x)), x.max(axis=1))


def test_masked_mean_pooling_is_keras_mean_over_valid_steps_and_zero_without_one():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 6, 3)).astype("float32")
    mask = rng.random((5, 6)) < 0.6
    mask[0] = True
    mask[3] = False  # a row without a valid step: Keras' layer gives NaN there
    got = keras.ops.convert_to_numpy(pooling.MaskedMeanPooling1D()(x, mask=mask))
    keras_mean = keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D()(x, mask=mask))
    for row in range(5):
        expected = keras_mean[row] if mask[row].any() else np.zeros(3)
        np.testing.assert_allclose(got[row], expected, rtol=1e-6, atol=1e-7)
    assert np.isnan(keras_mean[3]).all()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooling.MaskedMeanPooling1D()(x)), x.mean(axis=1), rtol=1e-6)


def test_a_mean_pooled_model_predicts_an_empty_review():
    from sentiment_lstm.data.imdb import CLASS_NAMES as LABELS
    from sentiment_lstm.inference import classify
    from sentiment_lstm.text import tokenizer

    texts = ["a good film", "a bad film"]
    vectorizer = tokenizer.make_vectorizer(texts, max_tokens=10)
    config = Config(units=4, embed_dim=8, pooling="mean", dense_dropout=0.0, embedding_dropout=0.0)
    end_to_end = network.build_end_to_end(network.build_token_model(vectorizer.vocabulary_size(), config), vectorizer, 5)
    [prediction] = classify.Classifier(end_to_end, LABELS).predict([""])
    assert np.isfinite(prediction["score"]) and prediction["known_words"] == 0


@pytest.mark.parametrize("pooling, width", [("max", 4), ("mean", 4), ("max-mean", 8), ("attention", 4)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooled_review_vector_ignores_padding(pooling, width, bidirectional):
    """Each pooling gives the review vector of the review's own steps: padding changes
    nothing, in training (the packed path) and inference, one or both directions."""
    config = Config(units=4, embed_dim=8, dense_dropout=0.0, embedding_dropout=0.0,
                    pooling=pooling, bidirectional=bidirectional)
    built = network.build_token_model(30, config)
    vector = keras.Model(built.input, built.get_layer("dense_dropout").input)
    assert vector.output.shape == (None, width * (2 if bidirectional else 1))
    short, padded = np.array([[5, 9, 2, 7]], "int32"), np.array([[5, 9, 2, 7, 0, 0, 0]], "int32")
    for training in (False, True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(vector(padded, training=training)),
                                   keras.ops.convert_to_numpy(vector(short, training=training)), atol=1e-6)


def test_pooled_model_round_trips_through_keras_file(tmp_path):
    built = network.build_token_model(30, Config(units=4, embed_dim=8, pooling="max-mean"))
    built.save(tmp_path / "pooled.keras")
    loaded = keras.saving.load_model(tmp_path / "pooled.keras", safe_mode=True)
    tokens = np.array([[5, 9, 2, 0], [3, 0, 0, 0]], "int32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(tokens)),
                               keras.ops.convert_to_numpy(built(tokens)), atol=1e-6)


def test_token_model_is_compiled_as_specified():
    built = network.build_token_model(30, Config(learning_rate=0.005, units=2, embed_dim=2, steps_per_execution=3))
    assert built.steps_per_execution == 3
    assert isinstance(built.optimizer, keras.optimizers.Adam)
    assert float(built.optimizer.learning_rate) == pytest.approx(0.005)
    assert isinstance(built.loss, str) and built.loss == "categorical_crossentropy"
    assert built.get_layer("embedding").mask_zero


def test_pad_to_min_length():
    pad = network.PadToMinLength()
    np.testing.assert_array_equal(pad(np.zeros((3, 0), "int32")), np.zeros((3, 1), "int32"))
    tokens = np.array([[4, 5, 0], [6, 0, 0]], "int32")
    np.testing.assert_array_equal(pad(tokens), tokens)
    assert network.PadToMinLength.from_config(network.PadToMinLength(2).get_config()).min_length == 2
    with pytest.raises(ValueError, match="Received: min_length=0"):
        network.PadToMinLength(0)


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
    token_model, vectorizer = network.parts(end_to_end)
    whole = network.build_end_to_end(token_model, vectorizer, max_length=None)
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




def test_attention_pooling_is_the_weighted_sum_by_hand():
    """v = sum_t a_t h_t, a = softmax over the valid steps of q . tanh(W h_t + b) (1e-6);
    a row without a valid step gives 0; without a mask, every step counts."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    mask = rng.random((4, 6)) < 0.6
    mask[0], mask[2] = True, False
    pool = pooling.AttentionPooling(units=5)
    got = keras.ops.convert_to_numpy(pool(x, mask=mask))
    W, b, q = (np.asarray(v, np.float64) for v in (pool.W, pool.b, pool.q))
    assert W.shape == (3, 5)
    for row in range(4):
        h = x[row][mask[row]].astype(np.float64)
        e = np.tanh(h @ W + b) @ q
        a = np.exp(e - e.max()) / np.exp(e - e.max()).sum() if len(h) else e
        np.testing.assert_allclose(got[row], a @ h if len(h) else np.zeros(3), atol=1e-6)
    e = np.tanh(x.astype(np.float64) @ W + b) @ q
    a = np.exp(e) / np.exp(e).sum(1, keepdims=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pool(x)), np.einsum("bt,btf->bf", a, x), atol=1e-6)
    assert pooling.AttentionPooling.from_config(pool.get_config()).units == 5


def test_sinusoidal_positions_by_hand():
    x = np.random.default_rng(0).normal(size=(2, 7, 6)).astype("float32")
    t, i = np.arange(7)[:, None], np.arange(6)[None]
    angle = t / 10000 ** (2 * (i // 2) / 6)
    expected = x + np.where(i % 2 == 0, np.sin(angle), np.cos(angle))[None]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(transformer.SinusoidalPositions()(x)), expected, atol=1e-5)


def test_an_encoder_block_is_the_transformer_equations_by_hand():
    """One block with 2 heads against NumPy: scaled dot-product attention per head over the
    unmasked keys, the output projection, residual and layer norm, then the feed-forward
    layer with its residual and layer norm (1e-5)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 5, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    block = transformer.EncoderBlock(heads=2, hidden=16)
    block(x, mask=mask)
    for weight in block.weights:  # layer norms away from the identity, too
        weight.assign(rng.normal(scale=0.5, size=weight.shape).astype("float32"))
    got = keras.ops.convert_to_numpy(block(x, mask=mask))
    mha = block.attention
    (Wq, bq), (Wk, bk), (Wv, bv), (Wo, bo) = ((np.asarray(d.kernel, np.float64), np.asarray(d.bias, np.float64))
                                              for d in (mha._query_dense, mha._key_dense, mha._value_dense,
                                                        mha._output_dense))

    def norm(v, layer):
        mean, var = v.mean(-1, keepdims=True), v.var(-1, keepdims=True)
        return (v - mean) / np.sqrt(var + 1e-6) * np.asarray(layer.gamma) + np.asarray(layer.beta)

    for row in range(3):
        h = x[row].astype(np.float64)  # (time, 8)
        Q, K, V = (np.einsum("tw,whd->thd", h, W) + b for W, b in ((Wq, bq), (Wk, bk), (Wv, bv)))  # (time, 2, 4)
        scores = np.einsum("qhd,khd->hqk", Q, K) / np.sqrt(4)
        scores = np.where(mask[row][None, None], scores, -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        attended = np.einsum("hqk,khd->qhd", weights, V)
        a = norm(h + np.einsum("qhd,hdw->qw", attended, Wo) + bo, block.norm_1)
        hidden = np.maximum(a @ np.asarray(block.expand.kernel) + np.asarray(block.expand.bias), 0)
        y = norm(a + hidden @ np.asarray(block.project.kernel) + np.asarray(block.project.bias), block.norm_2)
        valid = mask[row]
        np.testing.assert_allclose(got[row][valid], y[valid], atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "attention"])
def test_a_transformer_token_model_masks_padding_and_round_trips(pooling, tmp_path):
    config = Config(cell="transformer", units=8, embed_dim=8, layers=2, pooling=pooling, dense_dropout=0.0,
                    embedding_dropout=0.0, bigram_dim=0)
    built = network.build_token_model(30, config)
    assert [layer.name for layer in built.layers if isinstance(layer, transformer.EncoderBlock)] == \
        ["encoder_0", "encoder_1"]
    short, padded = np.array([[5, 9, 2, 7]], "int32"), np.array([[5, 9, 2, 7, 0, 0, 0]], "int32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(built(padded)), keras.ops.convert_to_numpy(built(short)),
                               atol=1e-6)
    assert np.isfinite(keras.ops.convert_to_numpy(built(np.zeros((2, 3), "int32")))).all()  # no word at all
    built.save(tmp_path / "transformer.keras")
    loaded = keras.saving.load_model(tmp_path / "transformer.keras", safe_mode=True)
    tokens = np.array([[5, 9, 2, 0], [3, 0, 0, 0], [4, 4, 8, 1]], "int32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(tokens)), keras.ops.convert_to_numpy(built(tokens)),
                               atol=1e-6)


@pytest.mark.parametrize("settings, message", [
    ({"cell": "transformer"}, "--cell transformer has no last state"),
    ({"cell": "transformer", "pooling": "mean", "bidirectional": True}, "--bidirectional does not apply"),
    ({"cell": "transformer", "pooling": "mean", "embed_dim": 9, "heads": 2},
     "--heads 2 must divide the step vector's width, --embed-dim \\+ --bigram-dim \\+ --trigram-dim = 9"),
])
def test_transformer_settings_that_do_not_fit_are_one_sentence(settings, message):
    with pytest.raises(UserError, match=message):
        Config(**settings)
