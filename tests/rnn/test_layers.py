"""Sequence layers: parity with Keras' SimpleRNN/LSTM/GRU (outputs and gradients),
Bidirectional, serialization, gate inspection, dropout, XLA.

These parity tests run under the active Keras backend; `test_parity_under_jax`
runs this file again with KERAS_BACKEND=jax in a subprocess.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from sentiment_lstm.rnn import layers

PAIRS = [
    (layers.SimpleRNN, keras.layers.SimpleRNN),
    (layers.LSTM, keras.layers.LSTM),
    (layers.GRU, keras.layers.GRU),
]
IDS = ["SimpleRNN", "LSTM", "GRU"]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 9, 6)).astype("float32")
LENGTHS = np.array([9, 6, 3, 1, 0])
RIGHT_PADDED = np.arange(9)[None, :] < LENGTHS[:, None]
SCATTERED = RNG.random((5, 9)) < 0.6  # not right-padded: masked steps anywhere
TOL = 1e-5


def copy_of(reference, ours, x=X):
    """Builds both layers, gives the reference random weights and copies them to ours."""
    reference(x), ours(x)
    reference.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32") for w in reference.get_weights()])
    ours.set_weights(reference.get_weights())
    return reference, ours


def assert_close(a, b):
    a = a if isinstance(a, (list, tuple)) else [a]
    b = b if isinstance(b, (list, tuple)) else [b]
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=TOL, rtol=0)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask", [None, RIGHT_PADDED, SCATTERED], ids=["no-mask", "right-padded", "scattered"])
def test_layer_matches_keras(ours, theirs, return_sequences, go_backwards, mask):
    kwargs = dict(return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    reference, layer = copy_of(theirs(4, **kwargs), ours(4, **kwargs))
    assert_close(layer(X, mask=mask), reference(X, mask=mask))


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("features", [6, 24], ids=["narrow", "wide"])
def test_projection_inside_or_outside_the_loop_matches_keras(ours, theirs, training, features):
    """At inference the projection moves into the loop when it is wider than the input
    (features 6 < k*4); with wide inputs (24), or in training, it is hoisted."""
    x = RNG.normal(size=(5, 9, features)).astype("float32")
    kwargs = dict(return_sequences=True, return_state=True)
    reference, layer = copy_of(theirs(4, **kwargs), ours(4, **kwargs), x)
    assert_close(layer(x, mask=RIGHT_PADDED, training=training), reference(x, mask=RIGHT_PADDED, training=training))


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_zero_output_for_mask_matches_keras(ours, theirs, return_sequences, training):
    """Without return_sequences too: a row whose last step is masked outputs zeros."""
    kwargs = dict(return_sequences=return_sequences, zero_output_for_mask=True)
    reference, layer = copy_of(theirs(4, **kwargs), ours(4, **kwargs))
    assert_close(layer(X, mask=SCATTERED, training=training), reference(X, mask=SCATTERED, training=training))
    assert_close(layer(X, mask=RIGHT_PADDED, training=training), reference(X, mask=RIGHT_PADDED, training=training))


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
def test_initial_state_is_used_like_keras(ours, theirs):
    reference, layer = copy_of(theirs(4, return_state=True), ours(4, return_state=True))
    states = [RNG.normal(size=(5, 4)).astype("float32") for _ in layer.cell.state_names]
    no_empty_row = RIGHT_PADDED | (np.arange(9)[None, :] == 0)
    assert_close(layer(X, initial_state=states, mask=no_empty_row), reference(X, initial_state=states, mask=no_empty_row))


def test_fully_masked_row_keeps_its_initial_state_and_outputs_zeros():
    """Keras' TensorFlow backend gives a zero output for a row with no valid step (its
    JAX backend gives the initial `h`); ours gives zeros on every backend."""
    layer = layers.LSTM(4, return_state=True)
    states = [RNG.normal(size=(5, 4)).astype("float32") for _ in range(2)]
    output, h, c = layer(X, initial_state=states, mask=RIGHT_PADDED)
    np.testing.assert_array_equal(np.asarray(output)[4], np.zeros(4))
    assert_close([h[4], c[4]], [states[0][4], states[1][4]])


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_matches_keras(ours, theirs, return_sequences):
    reference = keras.layers.Bidirectional(theirs(4, return_sequences=return_sequences))
    layer = keras.layers.Bidirectional(ours(4, return_sequences=return_sequences))
    copy_of(reference, layer)
    assert_close(layer(X, mask=RIGHT_PADDED), reference(X, mask=RIGHT_PADDED))


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_output_mask_is_keras(return_sequences, return_state, go_backwards):
    kwargs = dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards)
    ours, theirs = layers.LSTM(4, **kwargs), keras.layers.LSTM(4, **kwargs)
    ours(X), theirs(X)
    mask = ops.convert_to_tensor(RIGHT_PADDED)
    a, b = ours.compute_mask(X, mask), theirs.compute_mask(X, mask)
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
    assert [m is None for m in a] == [m is None for m in b]
    for u, v in zip(a, b):
        if u is not None:
            np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_weights_copy_from_ours_to_keras():
    layer, reference = layers.LSTM(4), keras.layers.LSTM(4)
    layer(X), reference(X)
    layer.set_weights([RNG.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    reference.set_weights(layer.get_weights())
    assert_close(reference(X), layer(X))


def gradients(layer, x, mask):
    """d(sum of outputs * fixed weights)/d(input, trainable weights), on TF or JAX, in
    training mode (where our LSTM uses its hand-written backward pass)."""
    shape = layer.compute_output_shape(x.shape)
    weights = np.random.default_rng(1).normal(size=shape).astype("float32")  # same for both layers
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, mask=mask, training=True) * weights)
        return tape.gradient(loss, [x] + [v.value for v in layer.trainable_variables])
    if backend == "jax":
        import jax

        frozen = [v.value for v in layer.non_trainable_variables]  # e.g. a dropout seed

        def loss(x, trainable):
            y, _ = layer.stateless_call(trainable, frozen, x, mask=mask, training=True)
            return (y * weights).sum()

        dx, dw = jax.grad(loss, argnums=(0, 1))(x, [v.value for v in layer.trainable_variables])
        return [dx] + list(dw)
    pytest.skip(f"gradient comparison is written for TensorFlow and JAX, not {backend}")


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("mask", [None, RIGHT_PADDED], ids=["no-mask", "right-padded"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_gradients_match_keras(ours, theirs, mask, return_sequences):
    reference, layer = copy_of(theirs(4, return_sequences=return_sequences), ours(4, return_sequences=return_sequences))
    assert_close(gradients(layer, X, mask), gradients(reference, X, mask))


def test_only_the_lstm_cell_itself_is_fused():
    from sentiment_lstm.rnn import fused
    from sentiment_lstm.rnn.cells import LSTMCell

    class PeepholeLike(LSTMCell):  # a subclass may change the equations
        pass

    assert fused.fusable(LSTMCell(2), None)
    assert not fused.fusable(PeepholeLike(2), None)
    assert not fused.fusable(LSTMCell(2, recurrent_activation="hard_sigmoid"), None)


def test_lstm_autodiff_and_hand_written_backward_agree(monkeypatch):
    from sentiment_lstm.rnn import fused

    layer = layers.LSTM(4, return_sequences=True)
    plain = layers.LSTM(4, return_sequences=True)
    copy_of(layer, plain)
    fast = gradients(layer, X, RIGHT_PADDED)
    reached = []
    real_recurrence = fused.lstm_recurrence
    monkeypatch.setattr(fused, "lstm_recurrence", lambda *a: reached.append(1) or real_recurrence(*a))
    monkeypatch.setattr(fused, "fusable", lambda *a, **k: False)  # neither fused.py nor packed.py: autodiff
    assert_close(fast, gradients(plain, X, RIGHT_PADDED))
    assert reached == []


@pytest.mark.parametrize("ours", [p[0] for p in PAIRS], ids=IDS)
def test_config_round_trip_gives_identical_outputs(ours):
    layer = ours(4, return_sequences=True, go_backwards=True, dropout=0.1, recurrent_dropout=0.2, seed=3, name="rec")
    layer(X)
    clone = ours.from_config(layer.get_config())
    clone(X)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    assert_close(clone(X, mask=RIGHT_PADDED), layer(X, mask=RIGHT_PADDED))


def test_keras_file_round_trip_in_safe_mode(tmp_path):
    tokens = np.array([[5, 3, 9, 2, 0, 0], [7, 1, 0, 0, 0, 0]], "int32")
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(10, 6, mask_zero=True),
        keras.layers.Bidirectional(layers.GRU(4, return_sequences=True)),
        layers.LSTM(3),
        keras.layers.Dense(2, activation="softmax"),
    ])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert_close(loaded(tokens), model(tokens))
    assert isinstance(loaded.layers[-2], layers.LSTM)


def test_inspect_lstm_gives_every_quantity_at_every_step():
    layer = copy_of(keras.layers.LSTM(4), layers.LSTM(4, return_sequences=True))[1]
    everything = layer.inspect(X)
    assert tuple(everything) == ("i", "f", "c_tilde", "c", "o", "h")
    assert all(tuple(v.shape) == (5, 9, 4) for v in everything.values())
    assert_close(everything["h"], layer(X))
    i, f, c_tilde, c, o, h = (np.asarray(everything[n]) for n in everything)
    c_prev = np.concatenate([np.zeros_like(c[:, :1]), c[:, :-1]], axis=1)
    np.testing.assert_allclose(c, f * c_prev + i * c_tilde, atol=TOL)
    np.testing.assert_allclose(h, o * np.tanh(c), atol=TOL)
    assert np.all((0 < i) & (i < 1) & (0 < f) & (f < 1) & (0 < o) & (o < 1))


@pytest.mark.parametrize("ours", [p[0] for p in PAIRS], ids=IDS)
def test_inspect_with_mask_aligns_with_input_steps(ours):
    layer = ours(4, return_sequences=True)
    layer(X)
    masked = layer.inspect(X, mask=RIGHT_PADDED)
    for row, length in enumerate(LENGTHS):
        if length == 0:
            continue
        alone = layer.inspect(X[row : row + 1, :length])
        for name, value in masked.items():
            value = np.asarray(value)[row]
            np.testing.assert_allclose(value[:length], np.asarray(alone[name])[0], atol=TOL, err_msg=name)
            np.testing.assert_allclose(value[length:], np.broadcast_to(value[length - 1], value[length:].shape), atol=TOL)


def test_dropout_only_in_training_and_fixed_across_time():
    x = np.ones((64, 6, 1), "float32")
    layer = layers.SimpleRNN(2, dropout=0.5, seed=1, return_sequences=True)
    plain = layers.SimpleRNN(2, return_sequences=True)
    copy_of(plain, layer, x)
    assert_close(layer(x, training=False), plain(x))
    outputs = np.asarray(layer(x, training=True))
    dropped, kept = np.asarray(plain(x * 0.0))[0], np.asarray(plain(x * 2.0))[0]
    is_dropped = np.all(np.isclose(outputs, dropped, atol=1e-6), axis=(1, 2))
    is_kept = np.all(np.isclose(outputs, kept, atol=1e-6), axis=(1, 2))
    assert np.all(is_dropped | is_kept) and 10 < is_dropped.sum() < 54


def test_recurrent_dropout_changes_training_outputs_only():
    layer = layers.LSTM(4, recurrent_dropout=0.5, seed=2)
    plain = layers.LSTM(4)
    copy_of(plain, layer)
    assert_close(layer(X, training=False), plain(X))
    assert np.max(np.abs(np.asarray(layer(X, training=True)) - np.asarray(plain(X)))) > 1e-3


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="XLA on TensorFlow is what Keras' LSTM lacks")
def test_trains_under_xla_on_tensorflow():
    tokens = RNG.integers(1, 50, size=(8, 12)).astype("int32")
    tokens[:, 8:] = 0
    labels = keras.utils.to_categorical(RNG.integers(0, 2, size=8), 2)
    model = keras.Sequential([
        keras.Input((12,), dtype="int32"),
        keras.layers.Embedding(50, 8, mask_zero=True),
        layers.LSTM(4),
        keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile("adam", "categorical_crossentropy", jit_compile=True)
    first = model.train_on_batch(tokens, labels)
    for _ in range(20):
        last = model.train_on_batch(tokens, labels)
    assert model.jit_compile and last < first


# The parity tests (outputs, states, masks, gradients) rerun under JAX; the rest of the
# file tests what does not depend on the backend or is TensorFlow's.
JAX_PARITY = ("layer_matches_keras or zero_output_for_mask or initial_state or fully_masked "
              "or bidirectional_matches or gradients_match_keras")


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow", reason="runs once, from the default backend")
def test_parity_under_jax():
    pytest.importorskip("jax", reason="jax is not installed: the JAX backend parity run is skipped")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", JAX_PARITY],
        cwd=Path(__file__).parents[2], env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


def test_engine_under_jax_does_not_import_tensorflow():
    """`sentiment_lstm.rnn` runs a layer under JAX without loading TensorFlow (its
    packed path is imported only where it runs)."""
    pytest.importorskip("jax", reason="jax is not installed")
    code = ("import sys, numpy as np; from sentiment_lstm import rnn; "
            "h = rnn.LSTM(3)(np.ones((2, 4, 5), 'float32'), training=True); "
            "print(tuple(h.shape), 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2],
                            env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ["(2,", "3)", "False"]
