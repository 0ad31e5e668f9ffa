"""LazyAdam (`--lazy-adam`): Keras' Adam where every row moves, only the used rows otherwise."""
import keras
import numpy as np
import tensorflow as tf

from sentiment_lstm.core.config import Config
from sentiment_lstm.model import network, optimizer
from sentiment_lstm.model.lazy_adam import LazyAdam

B1, B2, EPS, LR = 0.9, 0.999, 1e-7, 0.01


def run(optimizer, start, gradients):
    """The variable after `optimizer` applied each of `gradients` to `start` in turn."""
    variable = keras.Variable(start)
    for gradient in gradients:
        optimizer.apply([gradient], [variable])
    return keras.ops.convert_to_numpy(variable)


def test_dense_gradients_get_keras_adam():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(5, 3)).astype("float32")
    gradients = [tf.constant(rng.normal(size=(5, 3)), tf.float32) for _ in range(3)]
    np.testing.assert_allclose(run(LazyAdam(LR), start, gradients),
                               run(keras.optimizers.Adam(LR), start, gradients), atol=1e-6)


def test_sparse_gradients_touching_every_row_match_keras_adam():
    rng = np.random.default_rng(1)
    start = rng.normal(size=(4, 2)).astype("float32")
    # every row, some twice (summed), in a shuffled order
    slices = [tf.IndexedSlices(tf.constant(rng.normal(size=(6, 2)), tf.float32),
                               tf.constant(rng.permutation([0, 1, 2, 3, 1, 3])), tf.constant([4, 2]))
              for _ in range(3)]
    dense = [tf.convert_to_tensor(gradient) for gradient in slices]  # duplicates summed
    np.testing.assert_allclose(run(LazyAdam(LR), start, slices),
                               run(keras.optimizers.Adam(LR), start, dense), atol=1e-5)


def test_sparse_gradients_move_only_their_rows_by_hand():
    start = np.arange(8, dtype="float32").reshape(4, 2)
    steps = [([0, 2, 0], [[1.0, -1.0], [0.5, 0.5], [2.0, 0.0]]),  # row 0 twice: gradient (3, -1)
             ([2], [[-1.0, 4.0]])]                               # row 0 not used: it must not move
    w, m, v = start.astype("float64"), np.zeros((4, 2)), np.zeros((4, 2))
    for t, (rows, values) in enumerate(steps, start=1):
        g = np.zeros((4, 2))
        np.add.at(g, rows, values)
        used = np.unique(rows)
        m[used] = B1 * m[used] + (1 - B1) * g[used]
        v[used] = B2 * v[used] + (1 - B2) * g[used] ** 2
        w[used] -= LR * np.sqrt(1 - B2 ** t) / (1 - B1 ** t) * m[used] / (np.sqrt(v[used]) + EPS)
    slices = [tf.IndexedSlices(tf.constant(values, tf.float32), tf.constant(rows), tf.constant([4, 2]))
              for rows, values in steps]
    lazy = run(LazyAdam(LR), start, slices)
    np.testing.assert_allclose(lazy, w, atol=1e-6)
    np.testing.assert_array_equal(lazy[[1, 3]], start[[1, 3]])  # never used
    np.testing.assert_allclose(lazy[0], w[0], atol=1e-6)
    assert not np.allclose(run(keras.optimizers.Adam(LR), start, slices)[0], w[0])  # Adam moves row 0 again


def test_a_model_with_lazy_adam_trains_only_the_rows_its_batch_used():
    config = Config(units=4, embed_dim=3, bigram_dim=2, lazy_adam=True, embedding_dropout=0.0,
                    dense_dropout=0.0, steps_per_execution=1)
    token_model = network.build_token_model(10, config, ngram_keys={2: np.array([23, 34, 45])})
    assert isinstance(token_model.optimizer, LazyAdam)
    words = token_model.get_layer("embedding").embeddings
    pairs = token_model.get_layer("bigram_embedding").embeddings
    before_words, before_pairs = words.numpy().copy(), pairs.numpy().copy()
    tokens = np.array([[2, 3, 4, 0]])  # words 2-4; bigrams (2, 3) and (3, 4): rows 1 and 2, (0, 2): row 0
    token_model.train_on_batch(tokens, np.array([[0.0, 1.0]]))
    token_model.train_on_batch(np.array([[5, 0, 0, 0]]), np.array([[1.0, 0.0]]))  # word 5, bigram row 0
    moved_words = np.flatnonzero(np.any(words.numpy() != before_words, axis=1))
    moved_pairs = np.flatnonzero(np.any(pairs.numpy() != before_pairs, axis=1))
    np.testing.assert_array_equal(moved_words, [2, 3, 4, 5])
    np.testing.assert_array_equal(moved_pairs, [0, 1, 2])  # (4, 5), row 3, never read


def test_the_flag_reaches_the_optimizer():
    assert type(optimizer.adam(Config())) is keras.optimizers.Adam
    assert isinstance(optimizer.adam(Config(lazy_adam=True, ema_momentum=0.99)), LazyAdam)


def test_train_with_lazy_adam_publishes_a_model_that_loads(imdb_folder, tmp_path):
    import json

    import sentiment_lstm
    from sentiment_lstm.training import loop

    config = Config(data=str(imdb_folder), val_fraction=0.5, epochs=2, units=2, embed_dim=2, bigram_dim=2,
                    lazy_adam=True, model_dir=str(tmp_path / "model"),
                    deterministic=False)  # op determinism is process-wide and would turn XLA off in later tests
    loop.train(config)
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["hyperparameters"]["lazy_adam"] is True
    probabilities = sentiment_lstm.load(tmp_path / "model").predict_proba(["a film", ""])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
