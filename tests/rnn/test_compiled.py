"""The LSTM's last states in compiled chunks (`compiled.py`, TensorFlow): equal to Keras'
LSTM in inference on batches that span several chunks, with rows of zero, one, a chunk's
and full length, any mask, backwards, from given states, at every row size and past the
largest; taken for small batches without `return_sequences` (decided when the graph runs
if the batch size is known only then), packed inference for the rest; compiled by XLA."""

import keras
import numpy as np
import pytest

from sentiment_lstm.rnn import compiled, layers
from sentiment_lstm.rnn.cells import LSTMCell

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the compiled path is TensorFlow's")

RNG = np.random.default_rng(11)
TIME, FEATURES, UNITS = 2 * compiled.CHUNK + 5, 5, 3  # three chunks, the last one partial
ROW_LENGTHS = [TIME, 0, compiled.CHUNK, compiled.CHUNK + 1, 1, 7, TIME - 1, 2 * compiled.CHUNK]
TOL = 1e-5


def batch(rows, scattered=False):
    """`rows` rows of random input and a mask: right-padded to the lengths above (cycled),
    or scattered at random."""
    x = RNG.normal(size=(rows, TIME, FEATURES)).astype("float32")
    lengths = np.resize(ROW_LENGTHS, rows)
    mask = RNG.random((rows, TIME)) < 0.5 if scattered else np.arange(TIME)[None, :] < lengths[:, None]
    return x, mask


def pair(**kwargs):
    reference, ours = keras.layers.LSTM(UNITS, **kwargs), layers.LSTM(UNITS, **kwargs)
    reference.build((None, TIME, FEATURES)), ours.build((None, TIME, FEATURES))  # built, not run
    reference.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32") for w in reference.get_weights()])
    ours.set_weights(reference.get_weights())
    return reference, ours


def outputs(layer, x, mask, initial_state=None, signature_batch=None):
    """The layer in inference inside a tf.function; `signature_batch` None traces the batch
    size as unknown (decided when the graph runs)."""
    specs = [tf.TensorSpec((signature_batch, TIME, FEATURES)), tf.TensorSpec((signature_batch, TIME), tf.bool)]
    run = tf.function(lambda x, mask: layer(x, mask=mask, initial_state=initial_state, training=False),
                      input_signature=specs)
    result = run(tf.constant(x), tf.constant(mask))
    return [np.asarray(o) for o in (result if isinstance(result, (list, tuple)) else [result])]


@pytest.mark.parametrize("rows", [1, 3, 8, compiled.MOST_ROWS], ids=lambda r: f"{r}-rows")
def test_matches_keras_at_every_row_size(rows, recurrence_runs):
    reference, ours = pair(return_state=True)
    x, mask = batch(rows)
    for a, b in zip(outputs(ours, x, mask, signature_batch=rows), outputs(reference, x, mask)):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    assert int(recurrence_runs["compiled"].numpy()) >= 3 and int(recurrence_runs["packed"].numpy()) == 0


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("scattered", [False, True], ids=["right-padded", "scattered"])
def test_masks_directions_and_initial_states_match_keras(go_backwards, scattered):
    reference, ours = pair(return_state=True, go_backwards=go_backwards)
    x, mask = batch(6, scattered)
    h0, c0 = (tf.constant(RNG.normal(size=(6, UNITS)).astype("float32")) for _ in range(2))
    expected = outputs(reference, x, mask, [h0, c0])
    for a, b in zip(outputs(ours, x, mask, [h0, c0], signature_batch=6), expected):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)


def test_zero_output_for_mask_and_no_return_state_match_keras():
    reference, ours = pair(zero_output_for_mask=True)
    x, mask = batch(4)
    mask[0, -1] = False  # a row whose last step is masked: zeros
    mask[3] = True  # a row whose last step is valid
    (a,), (b,) = outputs(ours, x, mask, signature_batch=4), outputs(reference, x, mask)
    np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    assert not a[0].any() and a[3].any()


def test_past_the_largest_row_size_the_chunks_take_the_batch_as_it_is():
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    rows = compiled.MOST_ROWS + 4
    x, mask = batch(rows)
    lengths = mask.sum(1).astype("int32")
    zeros = tf.zeros((rows, UNITS))
    h, c = compiled.compiled_last_states(cell, tf.constant(x), tf.constant(lengths), zeros, zeros)
    expected = compiled._packed_last_states(cell, tf.constant(x), tf.constant(lengths), zeros, zeros, None, True)
    np.testing.assert_allclose(h.numpy(), expected[0].numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(c.numpy(), expected[1].numpy(), atol=TOL, rtol=0)


@pytest.mark.parametrize("rows,path", [(2, "compiled"), (compiled.MOST_ROWS + 1, "packed")])
def test_a_batch_size_known_only_when_it_runs_chooses_then(rows, path, recurrence_runs):
    reference, ours = pair()
    x, mask = batch(rows)
    (a,), (b,) = outputs(ours, x, mask), outputs(reference, x, mask)
    np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    other = {"compiled": "packed", "packed": "compiled"}[path]
    assert int(recurrence_runs[path].numpy()) > 0 and int(recurrence_runs[other].numpy()) == 0


def test_sequences_and_training_do_not_take_it(recurrence_runs, monkeypatch):
    x, mask = batch(2)
    layers.LSTM(UNITS, return_sequences=True)(x, mask=mask, training=False)
    assert int(recurrence_runs["compiled"].numpy()) == 0 and int(recurrence_runs["packed"].numpy()) == 1
    calls = []
    monkeypatch.setattr(compiled, "lstm_last_states", lambda *a, **k: calls.append(1))
    layers.LSTM(UNITS)(x, mask=mask, training=True)
    assert calls == []


def test_the_chunk_is_compiled_by_xla():
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    chunk = compiled._compiled_chunk(cell)
    specs = [tf.TensorSpec((None, compiled.CHUNK, FEATURES)), tf.TensorSpec((None,), tf.int32),
             tf.TensorSpec((None, UNITS)), tf.TensorSpec((None, UNITS)),
             tf.TensorSpec((FEATURES, 4 * UNITS)), tf.TensorSpec((4 * UNITS,)), tf.TensorSpec((UNITS, 4 * UNITS))]
    assert chunk.get_concrete_function(*specs).function_def.attr["_XlaMustCompile"].b
