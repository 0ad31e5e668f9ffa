"""`--bigram-dim`, `--trigram-dim`: the n-gram vocabulary, the n-gram embedding layer, and the model that reads it."""
import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.model import network, ngrams
from sentiment_lstm.text import tokenizer
from sentiment_lstm.training import loop

ROWS = tf.ragged.constant([[2, 3, 4], [2, 3], [5, 3, 4], [5, 4]], dtype=tf.int32)
TINY = Config(units=4, embed_dim=3, bigram_dim=2, embedding_dropout=0.0, dense_dropout=0.0)


def test_frequent_counts_each_bigram_once_per_row():
    # Rows holding each bigram (a = 0 before a row's first token): (0, 2) 2, (2, 3) 2, (3, 4) 2,
    # (0, 5) 2, (5, 3) 1, (5, 4) 1.
    assert [(k // 6, k % 6) for k in ngrams.frequent(ROWS, 6, min_count=2)] == [(0, 2), (0, 5), (2, 3), (3, 4)]
    assert len(ngrams.frequent(ROWS, 6, min_count=1)) == 6
    assert len(ngrams.frequent(ROWS, 6, min_count=3)) == 0
    assert len(ngrams.frequent(tf.ragged.constant([[2, 2, 2]]), 6, min_count=2)) == 0  # (2, 2) is in one row
    # A review without tokens is one padding step (tokenizer.tokenize): no bigram.
    assert len(ngrams.frequent(tf.ragged.constant([[0], [0], [0]]), 6, min_count=1)) == 0


def test_bigram_embedding_looks_up_each_steps_bigram():
    layer = ngrams.NgramEmbedding(6, ngrams=4, output_dim=3)
    layer.set_keys(ngrams.frequent(ROWS, 6, min_count=2))
    tokens = np.array([[2, 3, 4, 0], [5, 3, 0, 0]])
    index = keras.ops.convert_to_numpy(layer.index(tokens))
    np.testing.assert_array_equal(index, [[1, 3, 4, 0], [2, 0, 0, 0]])  # 1 + place in the keys; 0: not kept
    table = layer.embeddings.numpy()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(tokens)), table[index])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.compute_mask(tokens)), tokens != 0)
    assert [w.name for w in layer.trainable_weights] == ["embeddings"]

    with pytest.raises(ValueError, match="4 increasing keys"):
        layer.set_keys([9, 3, 4, 5])
    with pytest.raises(ValueError, match="4 increasing keys"):
        layer.set_keys([1, 2, 3])
    empty = ngrams.NgramEmbedding(6, ngrams=0, output_dim=3)  # no bigram frequent enough
    empty.set_keys([])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(empty.index(tokens)), np.zeros((2, 4)))


def test_model_without_frequent_bigrams_round_trips(tmp_path):
    built = network.build_token_model(6, TINY, ngram_keys={2: np.array([], "int64")})
    built.save(tmp_path / "none.keras")
    reloaded = keras.saving.load_model(tmp_path / "none.keras", safe_mode=True)
    tokens = np.array([[2, 3, 4, 0]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(tokens)),
                               keras.ops.convert_to_numpy(built(tokens)), atol=1e-6)


def test_model_reads_words_and_bigrams_and_stops_at_the_padding():
    keys = ngrams.frequent(ROWS, 6, min_count=2)
    built = network.build_token_model(6, TINY, ngram_keys={2: keys})
    assert built.get_layer("words_and_ngrams").output.shape[-1] == 3 + 2
    alone, padded = built(np.array([[2, 3, 4]])), built(np.array([[2, 3, 4, 0, 0, 0]]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(alone), keras.ops.convert_to_numpy(padded), rtol=1e-5)
    # The bigram vectors are read: changing the one of (2, 3), row 3, changes the prediction.
    table = built.get_layer("bigram_embedding").embeddings
    table.assign(table.numpy() + 5 * (np.arange(5) == 3)[:, None].astype("float32"))
    assert not np.allclose(keras.ops.convert_to_numpy(built(np.array([[2, 3, 4]]))),
                           keras.ops.convert_to_numpy(alone))
    with pytest.raises(ValueError, match="ngram_keys"):
        network.build_token_model(6, TINY)


def test_bigram_model_round_trips_through_keras_file_and_saved_model(tmp_path):
    texts = ["a good good film", "a bad bad film", "good acting", "bad plot, bad acting!"]
    vectorizer = tokenizer.make_vectorizer(texts, max_tokens=20)
    keys = ngrams.frequent(tokenizer.tokenize(texts, vectorizer, 5), vectorizer.vocabulary_size(), min_count=2)
    assert len(keys) > 0
    end_to_end = network.build_end_to_end(network.build_token_model(vectorizer.vocabulary_size(), TINY, {2: keys}),
                                        vectorizer, max_length=5)
    batch = tf.constant(texts + ["", "unknown words only"])
    expected = keras.ops.convert_to_numpy(end_to_end(batch))
    end_to_end.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(reloaded.get_layer("token_model").get_layer("bigram_embedding").keys.numpy(),
                                  keys)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(batch)), expected, atol=1e-6)
    end_to_end.export(str(tmp_path / "saved_model"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    np.testing.assert_allclose(loaded.serve(batch).numpy(), expected, atol=1e-6)


def test_train_keeps_the_bigrams_of_the_texts_it_fits_on(imdb_folder, tmp_path, monkeypatch):
    """`train(--bigram-dim 2)` keys the bigrams of the training reviews, never the validation ones."""
    calls = []
    frequent = ngrams.frequent

    def spy(tokens, vocabulary_size, min_count=ngrams.MIN_COUNT, order=2):
        calls.append(tokens.nrows())
        return frequent(tokens, vocabulary_size, min_count=1, order=order)

    monkeypatch.setattr(ngrams, "frequent", spy)
    config = Config(data=str(imdb_folder), val_fraction=0.5, epochs=1, units=2, embed_dim=2, bigram_dim=2,
                    model_dir=str(tmp_path / "model"),
                    deterministic=False)  # op determinism is process-wide and would turn XLA off in later tests
    loop.train(config)
    assert calls == [2]  # the 2 training reviews of the 4 (half are validation)
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["hyperparameters"]["bigram_dim"] == 2
    import sentiment_lstm

    probabilities = sentiment_lstm.load(tmp_path / "model").predict_proba(["a film", ""])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_trigrams_are_counted_and_looked_up_by_hand():
    # Rows holding each trigram (0 before a row's first token): (0, 0, 2) 2, (0, 2, 3) 2,
    # (0, 0, 5) 2; (2, 3, 4), (0, 5, 3), (5, 3, 4), (0, 5, 4) 1 each. Keys in base 6.
    keys = ngrams.frequent(ROWS, 6, min_count=2, order=3)
    np.testing.assert_array_equal(keys, [2, 5, 2 * 6 + 3])
    tokens = np.array([[2, 3, 4, 0], [5, 3, 0, 0]])
    index = keras.ops.convert_to_numpy(ngrams.lookup(keys, tokens, 6, order=3))
    np.testing.assert_array_equal(index, [[1, 3, 0, 0], [2, 0, 0, 0]])  # (2, 3, 4) and (0, 5, 3) are too rare
    layer = ngrams.NgramEmbedding(6, ngrams=3, output_dim=2, order=3)
    layer.set_keys(keys)
    # (4, 2, 3) is not kept, though its last two tokens end (0, 2, 3), key 15, a place a bigram lookup would find.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.index(np.array([[4, 2, 3]]))), [[0, 0, 0]])
    with pytest.raises(ValueError, match="int64"):
        ngrams.NgramEmbedding(3_000_000, ngrams=1, output_dim=2, order=3)  # 2.7e19 trigram keys


@pytest.mark.parametrize("order", [2, 3])
def test_lookup_in_the_graph_finds_the_keys_counted_in_numpy(order):
    """`lookup` (the model's, on padded batches) and `step_keys` (the counting's, on ragged
    rows) key every step alike: with every n-gram kept, each real step finds its own key."""
    rng = np.random.default_rng(order)
    rows = tf.ragged.constant([list(rng.integers(1, 7, size=n)) for n in (5, 1, 8, 3)], dtype=tf.int32)
    keys = ngrams.frequent(rows, 7, min_count=1, order=order)
    padded = rows.to_tensor().numpy()
    index = keras.ops.convert_to_numpy(ngrams.lookup(keys, padded, 7, order=order))
    assert np.all((index > 0) == (padded != 0))
    np.testing.assert_array_equal(keys[index[padded != 0] - 1], ngrams.step_keys(rows, 7, order)[2])


def test_model_reads_bigrams_and_trigrams_and_round_trips(tmp_path):
    config = Config(units=4, embed_dim=3, bigram_dim=2, trigram_dim=4, embedding_dropout=0.0, dense_dropout=0.0)
    keys = {order: ngrams.frequent(ROWS, 6, min_count=2, order=order) for order in (2, 3)}
    built = network.build_token_model(6, config, ngram_keys=keys)
    assert built.get_layer("words_and_ngrams").output.shape[-1] == 3 + 2 + 4
    alone = keras.ops.convert_to_numpy(built(np.array([[2, 3, 4]])))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(built(np.array([[2, 3, 4, 0, 0]]))), alone, rtol=1e-5)
    built.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    trigrams = reloaded.get_layer("trigram_embedding")
    assert trigrams.order == 3
    np.testing.assert_array_equal(trigrams.keys.numpy(), keys[3])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(np.array([[2, 3, 4]]))), alone, atol=1e-6)
    # The trigram vectors are read: changing the one of (0, 2, 3), row 3, changes the prediction.
    trigrams.embeddings.assign(trigrams.embeddings.numpy() + 5 * (np.arange(4) == 3)[:, None].astype("float32"))
    assert not np.allclose(keras.ops.convert_to_numpy(reloaded(np.array([[2, 3, 4]]))), alone)
    with pytest.raises(ValueError, match=r"ngram_keys\[3\]"):
        network.build_token_model(6, config, ngram_keys={2: keys[2]})


LINEAR = Config(units=4, embed_dim=3, bigram_dim=2, trigram_dim=2, linear_ngrams=True, embedding_dropout=0.5,
                dense_dropout=0.0)


def linear_model():
    keys = {order: ngrams.frequent(ROWS, 6, min_count=2, order=order) for order in (2, 3)}
    return network.build_token_model(6, LINEAR, ngram_keys=keys), keys


def test_linear_ngrams_add_the_sum_of_each_steps_weights_to_the_scores():
    built, keys = linear_model()
    assert not built.get_layer("linear_scores")(np.zeros((1, 3, 2)), mask=np.ones((1, 3), bool)).numpy().any()
    for name in ("word_weights", "bigram_weights", "trigram_weights"):  # they start at 0: the LSTM alone
        assert not built.get_layer(name).embeddings.numpy().any()
    copy = ngrams.NgramEmbedding.from_config(built.get_layer("trigram_weights").get_config())
    assert isinstance(copy.embeddings_initializer, keras.initializers.Zeros) and copy.order == 3
    rng = np.random.default_rng(0)
    words, bigrams, trigrams = (rng.normal(size=built.get_layer(name).embeddings.shape).astype("float32")
                                for name in ("word_weights", "bigram_weights", "trigram_weights"))
    for name, table in zip(("word_weights", "bigram_weights", "trigram_weights"), (words, bigrams, trigrams)):
        built.get_layer(name).embeddings.assign(table)
    dense = built.get_layer("recurrent_scores")
    kernel, bias = dense.get_weights()
    dense.set_weights([np.zeros_like(kernel), np.array([0.25, -0.5], "float32")])

    tokens = np.array([[2, 3, 4, 0, 0]])
    # By hand: bigram rows 1 + place in keys[2] (0: not kept), trigram rows likewise, padding left out.
    bigram_rows = [1 + list(keys[2]).index(k) if k in keys[2] else 0 for k in (0 * 6 + 2, 2 * 6 + 3, 3 * 6 + 4)]
    trigram_rows = [1 + list(keys[3]).index(k) if k in keys[3] else 0
                    for k in (2, (0 * 6 + 2) * 6 + 3, (2 * 6 + 3) * 6 + 4)]
    assert bigram_rows == [1, 3, 4] and trigram_rows[:2] != [0, 0]
    scores = (np.array([0.25, -0.5]) + words[[2, 3, 4]].sum(0) + bigrams[bigram_rows].sum(0)
              + trigrams[trigram_rows].sum(0))
    expected = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(built(tokens))[0], expected, rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(built(tokens[:, :3]))[0], expected, rtol=1e-5)


def test_linear_ngram_dropout_drops_whole_steps():
    built, _ = linear_model()
    steps = keras.Model(built.input, [built.get_layer("ngram_weights").output,
                                      built.get_layer("ngram_weights_dropout").output])
    for name in ("word_weights", "bigram_weights", "trigram_weights"):
        table = built.get_layer(name).embeddings
        table.assign(np.ones(table.shape, "float32"))
    kept, dropped = (keras.ops.convert_to_numpy(t) for t in steps(np.full((8, 50), 2), training=True))
    assert np.all(kept == 3)  # word + bigram + trigram weight, each 1
    assert set(np.unique(dropped)) == {0.0, 6.0}  # a step is dropped or scaled by 1 / (1 - 0.5), both classes
    assert np.all(dropped[..., 0] == dropped[..., 1])
    assert 0.3 < (dropped[..., 0] == 0).mean() < 0.7


def test_linear_ngram_model_learns_and_round_trips(tmp_path):
    built, keys = linear_model()
    tokens = np.array([[2, 3, 4, 0], [5, 3, 0, 0]])
    targets = np.eye(2, dtype="float32")[[1, 0]]
    built.fit(tokens, targets, epochs=3, batch_size=2, verbose=0)
    for name in ("word_weights", "bigram_weights", "trigram_weights"):
        assert built.get_layer(name).embeddings.numpy().any(), name  # trained with the rest
    built.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(reloaded.get_layer("trigram_weights").keys.numpy(), keys[3])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(tokens)),
                               keras.ops.convert_to_numpy(built(tokens)), atol=1e-6)


def test_first_occurrences_mark_each_ngrams_first_step_in_its_row():
    tokens = np.array([[2, 3, 2, 3, 2, 0, 0], [4, 4, 4, 5, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]])
    words = keras.ops.convert_to_numpy(ngrams.first_occurrences(tokens, 6))
    bigrams = keras.ops.convert_to_numpy(ngrams.first_occurrences(tokens, 6, order=2))
    # By hand. Words: 2 and 3 first at steps 0 and 1; 4 at 0, 5 at 3; padding never.
    np.testing.assert_array_equal(words, [[1, 1, 0, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0, 0], [0] * 7])
    # Bigrams: (start, 2) (2, 3) (3, 2) (2, 3) (3, 2); (start, 4) (4, 4) (4, 4) (4, 5).
    np.testing.assert_array_equal(bigrams, [[1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0], [0] * 7])


def test_first_occurrences_mark_the_earliest_of_many_repeats():
    """Not just one step of each n-gram: its first one (the sums are the same either way; a
    prefix's, as explanations read them, are not)."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 4, size=(3, 500))  # three words repeated hundreds of times
    tokens[2, 400:] = 0  # padding
    for order in (1, 2):
        marks = keras.ops.convert_to_numpy(ngrams.first_occurrences(tokens, 4, order=order))
        for row, marked in zip(tokens, marks):
            seen, expected = set(), []
            for place, token in enumerate(row):
                gram = tuple(row[max(0, place - order + 1):place + 1]) if place >= order - 1 else (0, token)
                expected.append(bool(token) and gram not in seen)
                seen.add(gram)
            np.testing.assert_array_equal(marked, expected)


def test_linear_once_adds_each_ngrams_weight_once_per_text_and_round_trips(tmp_path):
    keys = {order: ngrams.frequent(ROWS, 6, min_count=2, order=order) for order in (2, 3)}
    once = network.build_token_model(6, dataclasses.replace(LINEAR, linear_once=True), ngram_keys=keys)
    counts = network.build_token_model(6, LINEAR, ngram_keys=keys)
    rng = np.random.default_rng(1)
    for name in ("word_weights", "bigram_weights", "trigram_weights"):  # they start at 0
        table = once.get_layer(name).embeddings
        table.assign(rng.normal(size=table.shape).astype("float32"))
    counts.set_weights(once.get_weights())  # the same weights; only the counting differs
    words, bigrams = once.get_layer("word_weights").embeddings.numpy(), once.get_layer("bigram_weights").embeddings
    trigrams = once.get_layer("trigram_weights").embeddings.numpy()

    def linear(model, tokens):
        return keras.ops.convert_to_numpy(keras.Model(model.input, model.get_layer("linear_scores").output)(tokens))

    repeated, plain = np.array([[2, 3, 2, 3, 0]]), np.array([[2, 3, 0, 0, 0]])
    # By hand: words 2, 3 once; bigrams (start, 2), (2, 3), (3, 2) once, the repeat of (2, 3) left out;
    # trigrams (start, start, 2), (start, 2, 3), (2, 3, 2), (3, 2, 3), each once.
    bigram_rows = [1 + list(keys[2]).index(k) if k in keys[2] else 0 for k in (2, 2 * 6 + 3, 3 * 6 + 2)]
    trigram_rows = [1 + list(keys[3]).index(k) if k in keys[3] else 0
                    for k in (2, 2 * 6 + 3, (2 * 6 + 3) * 6 + 2, (3 * 6 + 2) * 6 + 3)]
    expected = (words[[2, 3]].sum(0) + bigrams.numpy()[bigram_rows].sum(0) + trigrams[trigram_rows].sum(0))
    np.testing.assert_allclose(linear(once, repeated)[0], expected, rtol=1e-5)
    # Without repeats both count the same; with them the counting model adds the repeats again.
    np.testing.assert_allclose(linear(once, plain), linear(counts, plain), rtol=1e-5)
    assert not np.allclose(linear(once, repeated), linear(counts, repeated))
    once.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(repeated)),
                               keras.ops.convert_to_numpy(once(repeated)), atol=1e-6)


def test_linear_once_needs_the_linear_path():
    with pytest.raises(UserError, match="--linear-once .* --linear-ngrams"):
        Config(linear_once=True)
