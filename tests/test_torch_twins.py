"""The PyTorch twins of epoch_speed.py compute the same function as the project's model.

Each twin (`benchmarks/torch_lstm.py`: packed sequences, and the whole padded batch read
at each row's last valid step) gets the weights of a tiny `build_token_model`; then
their probabilities and their loss gradients, dropout off, must match ours.
"""
import numpy as np
import pytest

from benchmarks import torch_lstm
from sentiment_lstm.core.config import Config
from sentiment_lstm.model import network

torch = pytest.importorskip("torch", reason="PyTorch is optional (benchmarks/requirements.txt); "
                                           "without it the twins are not run")

VOCABULARY = 30
SETTINGS = Config(units=5, embed_dim=4, embedding_dropout=0.0, dense_dropout=0.0)
# Right-padded rows of several lengths (none empty: see torch_lstm's module docstring).
TOKENS = np.array([[5, 6, 7, 8, 9, 2], [8, 3, 0, 0, 0, 0], [11, 0, 0, 0, 0, 0], [4, 4, 12, 29, 0, 0]],
                  dtype=np.int32)
LABELS = np.eye(2, dtype=np.float32)[[1, 0, 1, 0]]


@pytest.fixture(scope="module")
def ours():
    import keras

    keras.utils.set_random_seed(3)
    built = network.build_token_model(VOCABULARY, SETTINGS)
    rng = np.random.default_rng(3)  # weights large enough that every one of them shows in the output
    built.set_weights([rng.normal(scale=0.7, size=w.shape).astype(np.float32) for w in built.get_weights()])
    return built


def twin(ours, mode):
    trainer = torch_lstm.TorchLSTMTrainer(VOCABULARY, SETTINGS, threads=1, seed=0, mode=mode)
    trainer.load_keras_weights(ours)
    return trainer


def our_gradients(ours):
    """{weight name: gradient of the mean cross-entropy}, in training mode (the packed path
    our LSTM trains on)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        probabilities = ours(TOKENS, training=True)
        loss = tf.reduce_mean(tf.keras.losses.categorical_crossentropy(LABELS, probabilities))
    weights = {"embedding": ours.get_layer("embedding").embeddings,
               "kernel": ours.get_layer("recurrent_0").cell.kernel,
               "recurrent_kernel": ours.get_layer("recurrent_0").cell.recurrent_kernel,
               "bias": ours.get_layer("recurrent_0").cell.bias,
               "dense": ours.get_layer("probabilities").kernel}
    grads = tape.gradient(loss, list(weights.values()))
    return float(loss), {name: tf.convert_to_tensor(g).numpy() for name, g in zip(weights, grads)}


def twin_gradients(trainer):
    """The same gradients of the twin, as the Keras weights' layout."""
    torch_model = trainer.model
    torch_model.train()
    torch_model.zero_grad(set_to_none=True)
    x = torch.from_numpy(TOKENS.astype(np.int64))
    lengths = torch.from_numpy(torch_lstm.lengths_of(TOKENS).astype(np.int64))
    loss = trainer.loss(trainer.forward(x, lengths), torch.from_numpy(LABELS.argmax(axis=1)))
    loss.backward()
    lstm = torch_model.lstm
    return float(loss.detach()), {"embedding": torch_model.embedding.weight.grad.numpy(),
                         "kernel": lstm.weight_ih_l0.grad.numpy().T,
                         "recurrent_kernel": lstm.weight_hh_l0.grad.numpy().T,
                         "bias": lstm.bias_ih_l0.grad.numpy(),
                         "dense": torch_model.output.weight.grad.numpy().T}


@pytest.mark.parametrize("mode", ["packed", "unpacked"])
def test_twin_predicts_our_probabilities(ours, mode):
    expected = ours.predict(TOKENS, verbose=0)
    assert not np.allclose(expected, 0.5, atol=1e-3)  # a model whose output depends on its input
    np.testing.assert_allclose(twin(ours, mode).predict(TOKENS), expected, atol=1e-5)


@pytest.mark.parametrize("mode", ["packed", "unpacked"])
def test_twin_has_our_loss_gradients(ours, mode):
    loss, expected = our_gradients(ours)
    twin_loss, got = twin_gradients(twin(ours, mode))
    assert twin_loss == pytest.approx(loss, abs=1e-5)
    for name in expected:
        assert np.abs(expected[name]).max() > 1e-4, name
        np.testing.assert_allclose(got[name], expected[name], atol=1e-5, err_msg=name)


def test_unpacked_twin_ignores_padding_after_each_row():
    """Padding steps past a row's end are computed by the unpacked twin but never read."""
    trainer = torch_lstm.TorchLSTMTrainer(VOCABULARY, SETTINGS, threads=1, seed=0, mode="unpacked")
    longer = np.pad(TOKENS, ((0, 0), (0, 5)))
    np.testing.assert_allclose(trainer.predict(longer), trainer.predict(TOKENS), atol=1e-6)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="`mode` must be one of"):
        torch_lstm.TorchLSTMTrainer(VOCABULARY, SETTINGS, threads=1, mode="fast")
