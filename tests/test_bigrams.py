"""`--bigram-dim`: the bigram vocabulary, the bigram embedding layer, and the model that reads it."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment_lstm import bigrams, model, text, training
from sentiment_lstm.config import Config

ROWS = tf.ragged.constant([[2, 3, 4], [2, 3], [5, 3, 4], [5, 4]], dtype=tf.int32)
TINY = Config(units=4, embed_dim=3, bigram_dim=2, embedding_dropout=0.0, dense_dropout=0.0)


def test_frequent_counts_each_bigram_once_per_row():
    # Rows holding each bigram (a = 0 before a row's first token): (0, 2) 2, (2, 3) 2, (3, 4) 2,
    # (0, 5) 2, (5, 3) 1, (5, 4) 1.
    assert [(k // 6, k % 6) for k in bigrams.frequent(ROWS, 6, min_count=2)] == [(0, 2), (0, 5), (2, 3), (3, 4)]
    assert len(bigrams.frequent(ROWS, 6, min_count=1)) == 6
    assert len(bigrams.frequent(ROWS, 6, min_count=3)) == 0
    assert len(bigrams.frequent(tf.ragged.constant([[2, 2, 2]]), 6, min_count=2)) == 0  # (2, 2) is in one row
    # A review without tokens is one padding step (text.tokenize): no bigram.
    assert len(bigrams.frequent(tf.ragged.constant([[0], [0], [0]]), 6, min_count=1)) == 0


def test_bigram_embedding_looks_up_each_steps_bigram():
    layer = bigrams.BigramEmbedding(6, bigrams=4, output_dim=3)
    layer.set_keys(bigrams.frequent(ROWS, 6, min_count=2))
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
    empty = bigrams.BigramEmbedding(6, bigrams=0, output_dim=3)  # no bigram frequent enough
    empty.set_keys([])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(empty.index(tokens)), np.zeros((2, 4)))


def test_model_without_frequent_bigrams_round_trips(tmp_path):
    built = model.build_token_model(6, TINY, bigram_keys=np.array([], "int64"))
    built.save(tmp_path / "none.keras")
    reloaded = keras.saving.load_model(tmp_path / "none.keras", safe_mode=True)
    tokens = np.array([[2, 3, 4, 0]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(tokens)),
                               keras.ops.convert_to_numpy(built(tokens)), atol=1e-6)


def test_model_reads_words_and_bigrams_and_stops_at_the_padding():
    keys = bigrams.frequent(ROWS, 6, min_count=2)
    built = model.build_token_model(6, TINY, bigram_keys=keys)
    assert built.get_layer("words_and_bigrams").output.shape[-1] == 3 + 2
    alone, padded = built(np.array([[2, 3, 4]])), built(np.array([[2, 3, 4, 0, 0, 0]]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(alone), keras.ops.convert_to_numpy(padded), rtol=1e-5)
    # The bigram vectors are read: changing the one of (2, 3), row 3, changes the prediction.
    table = built.get_layer("bigram_embedding").embeddings
    table.assign(table.numpy() + 5 * (np.arange(5) == 3)[:, None].astype("float32"))
    assert not np.allclose(keras.ops.convert_to_numpy(built(np.array([[2, 3, 4]]))),
                           keras.ops.convert_to_numpy(alone))
    with pytest.raises(ValueError, match="bigram_keys"):
        model.build_token_model(6, TINY)


def test_bigram_model_round_trips_through_keras_file_and_saved_model(tmp_path):
    texts = ["a good good film", "a bad bad film", "good acting", "bad plot, bad acting!"]
    vectorizer = text.make_vectorizer(texts, max_tokens=20)
    keys = bigrams.frequent(text.tokenize(texts, vectorizer, 5), vectorizer.vocabulary_size(), min_count=2)
    assert len(keys) > 0
    end_to_end = model.build_end_to_end(model.build_token_model(vectorizer.vocabulary_size(), TINY, keys),
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
    frequent = bigrams.frequent

    def spy(tokens, vocabulary_size, min_count=bigrams.MIN_COUNT):
        calls.append(tokens.nrows())
        return frequent(tokens, vocabulary_size, min_count=1)

    monkeypatch.setattr(bigrams, "frequent", spy)
    config = Config(data=str(imdb_folder), val_fraction=0.5, epochs=1, units=2, embed_dim=2, bigram_dim=2,
                    model_dir=str(tmp_path / "model"),
                    deterministic=False)  # op determinism is process-wide and would turn XLA off in later tests
    training.train(config)
    assert calls == [2]  # the 2 training reviews of the 4 (half are validation)
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["hyperparameters"]["bigram_dim"] == 2
    import sentiment_lstm

    probabilities = sentiment_lstm.load(tmp_path / "model").predict_proba(["a film", ""])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
