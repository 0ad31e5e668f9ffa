"""serving.py: the SavedModel's `serve` and `Classifier.predict_proba` give the
end-to-end model's probabilities (as `model.predict` over the plain loop gave them) on
reviews of every length, empty and 1 MB ones included, through the fast paths: rows
grouped by length, the word embedding folded into the LSTM's input weights, the LSTM in
compiled chunks."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment_lstm.core import layout
from sentiment_lstm.core.config import Config
from sentiment_lstm.data.imdb import CLASS_NAMES as LABELS
from sentiment_lstm.export import publish
from sentiment_lstm.inference import classify, serving
from sentiment_lstm.model import network, ngrams
from sentiment_lstm.rnn import compiled, layers
from sentiment_lstm.text import tokenizer

WORDS = "a good bad film plot acting not at all great dull boring moving".split()
RNG = np.random.default_rng(3)
# Lengths in words around the block size, the group boundaries (halves) and beyond.
LENGTHS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 40, 41, 80, 81, 200, 333]
# Last, a review of 1 MB: 10,000 tokens, then 955,000 characters the tokenizer drops.
REVIEWS = [" ".join(RNG.choice(WORDS, n)) for n in LENGTHS] + ["", "   ", "!!!", "bad good " * 5_000 + "." * 955_000]
TOL = 1e-5


def build(max_length=None, classes=2, **config):
    """An end-to-end model of `classes` classes with bigram and trigram vectors and weights
    large enough that its probabilities spread over (0, 1); `max_length` None reads whole reviews."""
    config = Config(units=6, embed_dim=8, bigram_dim=3, trigram_dim=3, dense_dropout=0.0, embedding_dropout=0.0,
                    **config)
    vectorizer = tokenizer.make_vectorizer(REVIEWS[:-1], max_tokens=12)
    size = vectorizer.vocabulary_size()
    tokens = tokenizer.tokenize(REVIEWS[:-1], vectorizer, 400)
    keys = {n: ngrams.frequent(tokens, size, min_count=1, order=n) for n in (2, 3)}
    token_model = network.build_token_model(size, config, keys, num_classes=classes)
    token_model.set_weights([w if w.dtype == np.int64 else RNG.normal(scale=0.8, size=w.shape).astype(w.dtype)
                             for w in token_model.get_weights()])
    return network.build_end_to_end(token_model, vectorizer, max_length)


@pytest.fixture(scope="module")
def end_to_end():
    return build()


def plain_probabilities(end_to_end, reviews, monkeypatch):
    """What serving computed before: `model.predict` in batches of 256 over the plain loop."""
    with monkeypatch.context() as patch:
        patch.setattr(layers, "_packs", lambda *args: False)
        batches = tf.data.Dataset.from_tensor_slices(tf.constant(reviews)).batch(classify.BATCH_SIZE)
        return end_to_end.predict(batches, verbose=0)


def test_saved_model_and_predict_proba_match_the_plain_model(end_to_end, tmp_path, monkeypatch):
    expected = plain_probabilities(end_to_end, REVIEWS, monkeypatch)
    assert np.ptp(expected[:, 1]) > 0.2  # the reviews' probabilities differ: the test can see a mistake
    publish.write_saved_model(end_to_end, tmp_path / "saved_model", LABELS)
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    shuffled = RNG.permutation(len(REVIEWS))
    by_serve = loaded.serve(tf.constant([REVIEWS[k] for k in shuffled])).numpy()
    by_signature = loaded.signatures["serving_default"](review=tf.constant(REVIEWS[:-1]))["output_0"].numpy()
    by_api = classify.Classifier(end_to_end, LABELS).predict_proba(REVIEWS)
    np.testing.assert_allclose(by_serve, expected[shuffled], atol=TOL, rtol=0)
    np.testing.assert_allclose(by_signature, expected[:-1], atol=TOL, rtol=0)
    np.testing.assert_allclose(by_api, expected, atol=TOL, rtol=0)
    assert by_serve.dtype == np.float32 and loaded.serve(tf.constant([], tf.string)).shape == (0, 2)
    assert loaded.class_names().numpy().tolist() == [b"negative", b"positive"]


def test_a_twenty_class_model_serves_through_the_same_fast_paths(tmp_path, recurrence_runs, monkeypatch):
    """The fold, the groups and the compiled chunks serve a model of 20 classes as they
    serve one of 2: the SavedModel's rows are the plain model's to 1e-5."""
    names = [f"class {k:02d}" for k in range(20)]
    end_to_end = build(classes=20)
    expected = plain_probabilities(end_to_end, REVIEWS, monkeypatch)
    assert expected.shape == (len(REVIEWS), 20) and np.ptp(expected.argmax(1)) > 2  # rows differ
    assert serving.probabilities_fn(end_to_end).resources  # the fold applies
    publish.write_saved_model(end_to_end, tmp_path / "saved_model", names)
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    before = recurrence_runs["compiled"]
    np.testing.assert_allclose(loaded.serve(tf.constant(REVIEWS)).numpy(), expected, atol=TOL, rtol=0)
    np.testing.assert_allclose(classify.Classifier(end_to_end, names).predict_proba(REVIEWS), expected,
                               atol=TOL, rtol=0)
    assert recurrence_runs["compiled"] > before  # counted in this process's classifier
    assert loaded.class_names().numpy().astype(str).tolist() == names
    assert loaded.serve(tf.constant([], tf.string)).shape == (0, 20)
    one = [REVIEWS[11]]
    np.testing.assert_allclose(loaded.serve(tf.constant(one)).numpy(), expected[11:12], atol=TOL, rtol=0)


def test_a_clipped_model_serves_its_clip(monkeypatch):
    clipped = build(max_length=10)
    expected = plain_probabilities(clipped, REVIEWS, monkeypatch)
    function = tf.function(serving.probabilities_fn(clipped), input_signature=[serving.SIGNATURE])
    np.testing.assert_allclose(function(tf.constant(REVIEWS)).numpy(), expected, atol=TOL, rtol=0)
    assert len(REVIEWS[-1]) == 1_000_000


def group_shapes(end_to_end, monkeypatch, reviews, **arguments):
    """Eagerly (the loops run in Python), the `(rows, steps)` of each group that reaches the
    recurrent layer, in order, and the probabilities."""
    recurrent = end_to_end.get_layer("token_model").get_layer("recurrent_0")
    shapes, call = [], recurrent.call
    with monkeypatch.context() as patch:
        patch.setattr(recurrent, "call", lambda x, *a, **k: shapes.append(tuple(x.shape[:2])) or call(x, *a, **k))
        probabilities = serving.probabilities_fn(end_to_end, **arguments)(tf.constant(reviews))
    return shapes, probabilities.numpy()


GROUPED = ["good " * n for n in (3, 40, 0, 20, 19, 41, 10, 5)]


def test_rows_go_in_groups_of_similar_length(end_to_end, monkeypatch):
    """Each group's rows reach the recurrent layer padded to the group's own longest
    review; a group takes the rows at least half as long."""
    shapes, probabilities = group_shapes(end_to_end, monkeypatch, GROUPED, group=2, sides=1)
    # Sorted: 41 40 | 20 19 | 10 5 | 3 | 0 (less than half of 3).
    assert shapes == [(2, 41), (2, 20), (2, 10), (1, 3), (1, 1)]
    np.testing.assert_allclose(probabilities, plain_probabilities(end_to_end, GROUPED, monkeypatch),
                               atol=TOL, rtol=0)


def test_a_parts_cost_counts_each_chunks_rows_rounded_up_to_a_compiled_size():
    """Lengths 130 70 66 65 10 run 3 chunks of 64 steps, with 5, 4 and 1 rows still going.
    Rows [0, 5): 64 steps of 8 rows (5 rounded up), 64 of 4, 4 of 1 (2 rounded up to
    UNROLL), each step its rows + 16: 64 * 24 + 64 * 20 + 4 * 17 = 2,884 (2,692 unrounded).
    Rows [1, 5), longest 70: 64 steps of 4 rows, 8 of 4 (3 rounded up): 1,440. Rows [4, 5):
    12 steps of 1 row: 204."""
    assert (compiled.CHUNK, compiled.UNROLL, serving.STEP_ROWS) == (64, 4, 16)  # the costs above
    head, tail = (costs.numpy() for costs in serving._part_costs(tf.constant([130, 70, 66, 65, 10])))
    assert head.tolist() == [0, 64 * 17 + 64 * 17 + 4 * 17, 64 * 18 * 2 + 4 * 17, 64 * 20 * 2 + 4 * 17,
                             64 * 20 * 2 + 4 * 17, 64 * 24 + 64 * 20 + 4 * 17]
    assert tail.tolist() == [2884, 64 * 20 + 8 * 20, 64 * 20 + 4 * 18, 64 * 18 + 4 * 17, 12 * 17, 0]
    head, _ = serving._part_costs(tf.constant([130, 70, 66, 65, 10]), rounded=False)
    assert head.numpy()[-1] == 64 * 21 + 64 * 20 + 4 * 17
    assert [c.numpy().tolist() for c in serving._part_costs(tf.constant([0, 0]))] == [[0, 0, 0], [0, 0, 0]]


def test_groups_are_shared_among_the_sides_by_their_cost(end_to_end, monkeypatch):
    """Longest first, each group goes whole to the side with less work, or cut in two at
    the row that ends it soonest, where that finishes sooner (`_part_costs`): 1 x 100
    (1,700) to side 0; 40 x 30 (2,560 whole) cut after 32 rows, 32 to side 1 (1,536) and
    8 to side 0 (2,468); 40 x 12 (960) whole to side 1 (it ends at 2,496: any cut puts at
    least 204 more on side 0, 2,672)."""
    assert serving.SIDES == 2 and serving.STEP_ROWS == 16  # what serving uses, and the costs above
    reviews = ["good " * 100] + ["good " * 30] * 40 + ["good " * 12] * 40
    order = RNG.permutation(len(reviews))
    shuffled = [reviews[k] for k in order]
    shapes, probabilities = group_shapes(end_to_end, monkeypatch, shuffled)
    assert shapes == [(1, 100), (8, 30), (32, 30), (40, 12)]  # side 0's groups, then side 1's
    np.testing.assert_allclose(probabilities, plain_probabilities(end_to_end, shuffled, monkeypatch),
                               atol=TOL, rtol=0)
    one, _ = group_shapes(end_to_end, monkeypatch, GROUPED[:1])  # one review: the other side has none
    assert one == [(1, 3)]


def test_groups_run_compiled_chunks_and_larger_ones_packed_sequences(end_to_end, recurrence_runs, monkeypatch):
    """A folded model's groups (at most `GROUP` rows) all run compiled chunks; groups
    larger than the chunks take (`group` above `MOST_PROJECTED_ROWS`) run packed."""
    serve = tf.function(serving.probabilities_fn(end_to_end), input_signature=[serving.SIGNATURE])
    serve(tf.constant(REVIEWS[-2:-1]))
    assert recurrence_runs["compiled"] == 1 and recurrence_runs["packed"] == 0
    # Alike reviews: one group of GROUP rows, cut into one part per side, each compiled.
    group = [REVIEWS[14]] * serving.GROUP
    np.testing.assert_allclose(serve(tf.constant(group)).numpy(), plain_probabilities(end_to_end, group, monkeypatch),
                               atol=TOL, rtol=0)
    assert recurrence_runs["compiled"] == 1 + serving.SIDES and recurrence_runs["packed"] == 0
    large = serving.SIDES * (compiled.MOST_PROJECTED_ROWS + 1)
    serve_large = tf.function(serving.probabilities_fn(end_to_end, group=large), input_signature=[serving.SIGNATURE])
    group = [REVIEWS[14]] * large
    np.testing.assert_allclose(serve_large(tf.constant(group)).numpy(),
                               plain_probabilities(end_to_end, group, monkeypatch), atol=TOL, rtol=0)
    assert recurrence_runs["packed"] == serving.SIDES


def test_predict_proba_calls_the_serving_function_not_model_predict(end_to_end, monkeypatch):
    monkeypatch.setattr(keras.Model, "predict", lambda *a, **k: pytest.fail("model.predict was called"))
    classifier = classify.Classifier(end_to_end, LABELS)
    assert classifier.predict_proba(REVIEWS[:5]).shape == (5, 2)


def test_published_model_directory_serves_through_the_grouped_function(end_to_end, tmp_path, monkeypatch):
    """`publish.write_model` exports the grouped function (what `train` publishes)."""
    exported = []
    monkeypatch.setattr(publish, "write_saved_model", lambda e2e, path, labels, original=publish.write_saved_model:
                        exported.append(path) or original(e2e, path, labels))
    publish.write_model(tmp_path, end_to_end, Config(), 12, LABELS)
    assert exported == [tmp_path / layout.SAVED_MODEL_DIR]
    reloaded = classify.load(tmp_path)
    np.testing.assert_allclose(reloaded.predict_proba(REVIEWS[:6]),
                               plain_probabilities(end_to_end, REVIEWS[:6], monkeypatch), atol=TOL, rtol=0)


@pytest.mark.parametrize("settings", [{"pooling": "attention"},
                                      {"cell": "transformer", "pooling": "attention", "layers": 2}])
def test_attention_and_the_transformer_serve_as_the_plain_model(settings, tmp_path, recurrence_runs, monkeypatch):
    """`--pooling attention` (the LSTM's outputs at every step, from packed inference, not
    the compiled last states) and `--cell transformer`: the SavedModel on raw strings and
    `predict_proba` give the plain model's rows to 1e-5, reviews of every length included."""
    end_to_end = build(classes=3, **settings)
    expected = plain_probabilities(end_to_end, REVIEWS[:-1], monkeypatch)  # the 1 MB review: 10,000^2 attention
    assert np.ptp(expected, axis=0).max() > 0.05  # the rows differ: the test can see a mistake
    publish.write_saved_model(end_to_end, tmp_path / "saved_model", ["a", "b", "c"])
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    np.testing.assert_allclose(loaded.serve(tf.constant(REVIEWS[:-1])).numpy(), expected, atol=TOL, rtol=0)
    np.testing.assert_allclose(classify.Classifier(end_to_end, ["a", "b", "c"]).predict_proba(REVIEWS[:-1]),
                               expected, atol=TOL, rtol=0)
    assert loaded.serve(tf.constant([], tf.string)).shape == (0, 3)
    if "cell" not in settings:
        assert recurrence_runs["packed"] > 0 and recurrence_runs["compiled"] == 0
