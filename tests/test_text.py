"""Tests of sentiment_lstm.text: standardization, vocabulary, clipping and the tf.data pipeline."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import Dataset
from sentiment_lstm.data.imdb import CLASS_NAMES
from sentiment_lstm.text import pipeline, words
from sentiment_lstm.text.pipeline import make_dataset
from sentiment_lstm.text.tokenizer import ClipTokens, clip_tokens, make_vectorizer, standardize, tokenize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("<br />Great FILM!", "great film !"),
        ("ÉTÉ", "été"),
        ("Don't", "don't"),
        ("It’s 7/10?!", "it's 7 10 ? !"),
        ("'Quoted' rock 'n' roll", "quoted rock n roll"),
        ("<i>Wow</i>,emoji 😀 here.<br /><br />", "wow emoji here"),
        ("well-made, (sort of)...", "well made sort of"),
        ("a < b", "a b"),
        ("", ""),
    ],
)
def test_standardize(raw, expected):
    assert standardize(tf.constant([raw])).numpy()[0].decode("utf-8") == expected


def test_standardize_keeps_shape_and_traces():
    traced = tf.function(standardize, input_signature=[tf.TensorSpec([None, 1], tf.string)])
    out = traced(tf.constant([["Good!"], ["BAD?"]]))
    assert out.numpy().tolist() == [[b"good !"], [b"bad ?"]]


TRAIN_TEXTS = ["good good good film!", "bad bad film film", "good good plot!", "bad bad acting"]


def test_make_vectorizer_vocabulary_and_ids():
    vectorizer = make_vectorizer(TRAIN_TEXTS, max_tokens=6)
    assert vectorizer.get_vocabulary() == ["", "[UNK]", "good", "bad", "film", "!"]
    ids = vectorizer(tf.constant(["GOOD film!", "unseen bad", ""]))
    assert ids.dtype == tf.int64
    assert ids.numpy().tolist() == [[2, 4, 5], [1, 3, 0], [0, 0, 0]]


@pytest.mark.parametrize("bad", [{"texts": []}, {"texts": TRAIN_TEXTS, "max_tokens": 2}])
def test_make_vectorizer_rejects_bad_input(bad):
    with pytest.raises(UserError):
        make_vectorizer(**bad)


def test_clip_tokens_keeps_the_first_steps():
    tokens = np.arange(1, 13).reshape(2, 6)
    assert clip_tokens(tokens, 4).tolist() == [[1, 2, 3, 4], [7, 8, 9, 10]]
    assert clip_tokens(tokens[0], 10).tolist() == [1, 2, 3, 4, 5, 6]
    assert clip_tokens(tf.constant(tokens), 2).numpy().tolist() == [[1, 2], [7, 8]]
    ragged = tf.ragged.constant([[1, 2, 3], [4]])
    assert clip_tokens(ragged, 2).to_list() == [[1, 2], [4]]


def test_clip_tokens_layer_clips_values_mask_and_shape():
    layer = ClipTokens(3)
    tokens = tf.constant([[5, 6, 7, 8], [9, 0, 0, 0]])
    assert layer(tokens).numpy().tolist() == [[5, 6, 7], [9, 0, 0]]
    mask = layer.compute_mask(tokens, tokens != 0)
    assert mask.numpy().tolist() == [[True, True, True], [True, False, False]]
    assert layer.compute_output_shape((None, None)) == (None, None)
    assert layer.compute_output_shape((2, 10)) == (2, 3)
    assert ClipTokens.from_config(layer.get_config()).max_length == 3
    with pytest.raises(UserError):
        ClipTokens(0)


def test_model_with_vectorizer_and_clip_tokens_survives_keras_safe_mode(tmp_path):
    vectorizer = make_vectorizer(TRAIN_TEXTS, max_tokens=10)
    review = keras.Input(shape=(), dtype="string")
    tokens = ClipTokens(2)(vectorizer(review))
    x = keras.layers.Embedding(10, 3, mask_zero=True)(tokens)
    x = keras.layers.GlobalAveragePooling1D()(x)
    probabilities = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(review, probabilities)
    path = tmp_path / "tiny.keras"
    model.save(path)

    loaded = keras.saving.load_model(path, safe_mode=True)
    reviews = tf.constant(["Good film, BAD plot!", "bad"])
    np.testing.assert_allclose(loaded(reviews), model(reviews), rtol=1e-6)
    clip, = (layer for layer in loaded.layers if isinstance(layer, ClipTokens))
    assert clip.max_length == 2
    loaded_vectorizer, = (
        layer for layer in loaded.layers if isinstance(layer, keras.layers.TextVectorization)
    )
    assert loaded_vectorizer(tf.constant(["<b>GOOD</b> film!"])).numpy().tolist() == [[2, 4, 5]]


def varied_reviews(n=96, max_words=40, seed=0):
    """Reviews of 0..max_words words; positive ones say `good`, negative ones `bad`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    lengths = rng.integers(0, max_words + 1, size=n)
    texts = [" ".join([("bad", "good")[y]] * k) for y, k in zip(labels, lengths)]
    return Dataset(texts, labels.astype(np.int64), CLASS_NAMES)


@pytest.fixture(scope="module")
def vectorizer():
    return make_vectorizer(["good bad"], max_tokens=10)


def batches(dataset):
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def rows_by_review(dataset):
    """Sorted (unpadded token ids, label) of every row of every batch."""
    rows = []
    for tokens, labels in batches(dataset):
        for row, onehot in zip(tokens, labels):
            rows.append((tuple(row[row != 0]), int(onehot.argmax())))
    return sorted(rows)


@pytest.mark.parametrize("bucket", [True, False])
def test_make_dataset_shapes_padding_and_labels(vectorizer, bucket):
    reviews = varied_reviews()
    dataset = make_dataset(reviews, vectorizer, batch_size=8, max_length=25, bucket=bucket)
    assert dataset.element_spec[0].dtype == tf.int32
    assert dataset.element_spec[1].dtype == tf.float32
    total = 0
    for tokens, labels in batches(dataset):
        assert tokens.ndim == 2 and 1 <= tokens.shape[1] <= 25 and len(tokens) <= 8
        assert labels.shape == (len(tokens), 2)
        assert set(labels.sum(axis=1)) == {1.0}
        padding = tokens == 0
        assert not (padding[:, :-1] & ~padding[:, 1:]).any(), "padding must be on the right"
        total += len(tokens)
    assert total == len(reviews)

    good, bad = vectorizer(tf.constant(["good bad"])).numpy()[0]
    expected = sorted(
        ((good if label else bad,) * min(len(review.split()), 25), int(label))
        for review, label in zip(reviews.texts, reviews.labels)
    )
    assert rows_by_review(dataset) == expected


def pad_tokens(dataset):
    return sum(int((tokens == 0).sum()) for tokens, _ in batches(dataset))


def test_bucketing_reduces_padding(vectorizer):
    reviews = varied_reviews(n=200)
    bucketed, padded = (
        pad_tokens(make_dataset(reviews, vectorizer, batch_size=16, max_length=40, bucket=bucket))
        for bucket in (True, False)
    )
    assert bucketed < padded / 3


def test_bucketed_batch_shapes_are_few(vectorizer):
    reviews = varied_reviews(n=300, max_words=200)
    dataset = make_dataset(reviews, vectorizer, batch_size=8, max_length=200)
    assert {tokens.shape[1] for tokens, _ in batches(dataset)} <= set(range(20, 201, 20))


@pytest.mark.parametrize("batch_size, boundaries", [(4, [3, 6, 11]), (3, [2, 5, 8, 11]), (50, [11])])
def test_length_batches_are_those_of_bucket_by_sequence_length(batch_size, boundaries):
    """Fed the same reviews in the same order, tf.data's per-review bucketing and ours give
    the same batches in the same order: full ones as they fill, partial ones at the end."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 11, size=61)
    tokens = tf.RaggedTensor.from_row_lengths(rng.integers(1, 99, size=lengths.sum()).astype("int32"), lengths)
    labels = tf.one_hot(rng.integers(0, 2, size=61), 2)
    reference = tf.data.Dataset.from_tensor_slices((tokens, labels)).map(lambda ids, y: (ids, y)).bucket_by_sequence_length(
        lambda ids, y: tf.shape(ids)[0], bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1), pad_to_bucket_boundary=True)
    ours = pipeline._length_batches(tokens, (labels,), boundaries, batch_size)
    expected, got = batches(reference), batches(ours)
    assert len(got) == len(expected) == ours.batches_per_epoch > 1
    for (x, y), (x_ref, y_ref) in zip(got, expected):
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)


def test_empty_review_is_one_masked_step(vectorizer):
    reviews = Dataset(["", "😀", ""], np.array([0, 1, 1]), CLASS_NAMES)
    (padded, labels), = batches(make_dataset(reviews, vectorizer, max_length=5, bucket=False))
    assert padded.tolist() == [[0] * 5] * 3
    assert labels.tolist() == [[1, 0], [0, 1], [0, 1]]
    (bucketed, _), = batches(make_dataset(reviews, vectorizer, max_length=5))
    assert bucketed.tolist() == [[0], [0], [0]]


def test_shuffle_is_seeded_and_reshuffles_each_epoch(vectorizer):
    reviews = varied_reviews(n=64)

    def epochs(seed):
        dataset = make_dataset(reviews, vectorizer, batch_size=8, shuffle=True, seed=seed)
        return [batches(dataset) for _ in range(2)]

    def same(a, b):
        return len(a) == len(b) and all(
            np.array_equal(xa, xb) and np.array_equal(ya, yb)
            for (xa, ya), (xb, yb) in zip(a, b)
        )

    first, second = epochs(seed=3)
    again_first, again_second = epochs(seed=3)
    assert same(first, again_first) and same(second, again_second)
    assert not same(first, second)
    assert not same(first, epochs(seed=4)[0])
    unshuffled = batches(make_dataset(reviews, vectorizer, batch_size=8, bucket=False))
    assert np.array_equal(unshuffled[0][1].argmax(axis=1), reviews.labels[:8])


@pytest.mark.parametrize(
    "reviews, kwargs",
    [
        (Dataset([], np.array([], dtype=np.int64), CLASS_NAMES), {}),
        (Dataset(["a"], np.array([-1]), CLASS_NAMES), {}),
        (Dataset(["a"], np.array([1]), CLASS_NAMES), {"batch_size": 0}),
        (Dataset(["a"], np.array([1]), CLASS_NAMES), {"max_length": 0}),
    ],
    ids=["empty", "unlabeled", "batch-size", "max-length"],
)
def test_make_dataset_rejects_bad_input(vectorizer, reviews, kwargs):
    with pytest.raises(UserError):
        make_dataset(reviews, vectorizer, **kwargs)


# Pieces of text where tokenization has edge cases: tags, case, apostrophes of every kind
# and in every place, `!`/`?`, non-ASCII letters, marks, digits and symbols, odd whitespace.
SPAN_PIECES = ["<br />", "<i>", "</ I >", "< b", ">", "<>", "<1>", "<a href='x'>", "Don't", "don''t", "x'''y",
               "'", "\u2019", "`", "\u00b4", "\u02bc", "!", "?", "!?", "...", "ÉTÉ", "naïve", "İstanbul", "ß",
               "ǅ", "e\u0301", "😀", "日本語", "\u00a0", "\t", "\n", "\v", "\x85", "\u2028", " ", "7/10", "-",
               "_", "a", "Bad", "GOOD", "rock'n'roll", "'quoted'", "x'", "'x", "\ufffd", "١٢٣", "ﬁ", "Ⅻ", "²"]


def test_word_spans_are_the_vectorizers_tokens_in_the_review_as_typed():
    rng = np.random.default_rng(0)
    reviews = ["".join(rng.choice(SPAN_PIECES, size=rng.integers(0, 12))) for _ in range(3000)]
    standardized = [s.decode("utf-8").split() for s in standardize(tf.constant(reviews)).numpy()]
    for review, expected in zip(reviews, standardized):
        typed = [review[a:b] for a, b in words.word_spans(review)]
        assert [w.lower().translate({ord(c): "'" for c in "\u2018\u2019\u02bc`\u00b4"}) for w in typed] == expected
    review = "<br />It’s GREAT!! <i>Naïve</i> 'rock'n'roll' 7/10"
    assert [review[a:b] for a, b in words.word_spans(review)] == [
        "It’s", "GREAT", "!", "!", "Naïve", "rock'n'roll", "7", "10"]
    assert words.word_spans("") == [] and words.word_spans(" \n<br />") == []


def test_training_batches_are_prefetched_without_autotuning(vectorizer):
    """tf.data's autotuning left training idle (pipeline.prefetched): the batches
    Keras trains on have it off, and come out the same as without the prefetch."""
    reviews = varied_reviews(n=100)
    dataset = make_dataset(reviews, vectorizer, batch_size=8, shuffle=True, seed=5)
    assert dataset.options().autotune.enabled is False
    bare = pipeline._length_batches(tokenize(reviews.texts, vectorizer, 200), (tf.one_hot(reviews.labels, 2),),
                                    pipeline._bucket_boundaries(200), 8, seed=5)
    for (x, y), (x_ref, y_ref) in zip(batches(dataset), batches(bare), strict=True):
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)
