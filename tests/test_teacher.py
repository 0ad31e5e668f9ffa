"""The n-gram teacher of `--teacher nb-lr` (teacher.py) and its soft targets in training."""
import numpy as np
import pytest

from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import imdb
from sentiment_lstm.data.dataset import Dataset
from sentiment_lstm.data.imdb import CLASS_NAMES
from sentiment_lstm.text.pipeline import make_dataset
from sentiment_lstm.text.tokenizer import make_vectorizer
from sentiment_lstm.training import loop, teacher

TEXTS = ["Good fun <br />", "good film", "bad film", "BAD plot", "not good"]
LABELS = [1, 1, 0, 0, 0]


def test_log_count_ratios_match_the_hand_computed_ones():
    nb = teacher.NBLR(TEXTS, LABELS)
    features = nb.vectorizer.get_feature_names_out().tolist()
    # Binary counts of the 2 positive and 3 negative reviews (lowercased, HTML stripped), plus 1.
    positive = {"good": 2, "fun": 1, "film": 1, "good fun": 1, "good film": 1}
    negative = {"bad": 2, "film": 1, "plot": 1, "not": 1, "good": 1, "bad film": 1, "bad plot": 1,
                "not good": 1}
    p = np.array([1 + positive.get(f, 0) for f in features], float)
    q = np.array([1 + negative.get(f, 0) for f in features], float)
    assert sorted(features) == sorted(set(positive) | set(negative))
    np.testing.assert_allclose(nb.ratios[0], np.log((p / p.sum()) / (q / q.sum())), rtol=1e-12)


def test_log_odds_is_the_logistic_regression_on_scaled_indicators():
    nb = teacher.NBLR(TEXTS, LABELS)
    reviews = ["good fun", "bad plot", "unseen words", "<i>GOOD</i> film"]
    features = nb.vectorizer.get_feature_names_out().tolist()
    x = np.zeros((len(reviews), len(features)))
    for row, present in enumerate([{"good", "fun", "good fun"}, {"bad", "plot", "bad plot"}, set(),
                                   {"good", "film", "good film"}]):
        x[row, [features.index(f) for f in present]] = 1
    expected = x * nb.ratios[0] @ nb.classifiers[0].coef_.ravel() + nb.classifiers[0].intercept_[0]
    np.testing.assert_allclose(nb.log_odds(reviews), expected, rtol=1e-10)
    assert nb.log_odds(["good fun"])[0] > 0 > nb.log_odds(["bad plot"])[0]


def test_bigrams_count():
    """"not good" is negative though "good" alone is positive; the log-odds' sign is the class."""
    texts = ["good film", "really good", "great <br /> acting", "not good", "bad film", "not great"] * 5
    labels = [1, 1, 1, 0, 0, 0] * 5
    scores = teacher.NBLR(texts, labels, C=10.0).log_odds(["a good film", "not good at all", "great", "bad"])
    assert list(scores > 0) == [True, False, True, False]


def test_soft_targets_are_the_class_probabilities():
    targets = teacher.soft_targets([0.0, np.log(3), -800.0])
    np.testing.assert_allclose(targets, [[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]], atol=1e-7)
    assert targets.dtype == np.float32


def test_make_dataset_carries_soft_targets_of_unlabeled_reviews():
    reviews = Dataset(["good", "bad bad", "good good good"], np.array([1, -1, -1]), CLASS_NAMES)
    targets = np.array([[0, 1], [0.9, 0.1], [0.2, 0.8]], np.float32)
    dataset = make_dataset(reviews, make_vectorizer(["good bad"], max_tokens=10), batch_size=8,
                           targets=targets, bucket=False)
    (tokens, labels), = [(x.numpy(), y.numpy()) for x, y in dataset]
    rows = sorted(zip((tokens != 0).sum(axis=1).tolist(), labels.tolist()))  # by length
    np.testing.assert_allclose([label for _, label in rows], targets, rtol=1e-6)
    with pytest.raises(UserError, match="shape"):
        make_dataset(reviews, make_vectorizer(["good bad"]), targets=targets[:2])


def test_taught_texts_add_the_unlabeled_ones_with_the_teachers_probabilities(imdb_folder):
    train = imdb.load_reviews(imdb_folder, "train")
    unlabeled = imdb.load_reviews(imdb_folder, "unsup")
    same, no_crops = loop.texts_to_fit(Config(), train, unlabeled)
    assert same is train and no_crops is None and loop.start_teacher(Config(), train, same, None)() is None
    assert loop.unlabeled_texts(Config(data=str(imdb_folder)), train) is None  # no teacher: none read
    assert loop.unlabeled_texts(Config(data=str(imdb_folder), teacher="nb-lr"), train).texts == unlabeled.texts

    config = Config(teacher="nb-lr")
    reviews, no_crops = loop.texts_to_fit(config, train, unlabeled)
    targets = loop.start_teacher(config, train, reviews, no_crops)()
    assert reviews.texts == train.texts + unlabeled.texts
    assert reviews.labels.tolist() == train.labels.tolist() + [-1] * len(unlabeled)
    np.testing.assert_array_equal(targets[: len(train)], np.eye(2)[train.labels])
    expected = teacher.soft_targets(teacher.NBLR(train.texts, train.labels).log_odds(unlabeled.texts))
    np.testing.assert_allclose(targets[len(train):], expected, rtol=1e-6)


def test_a_large_teacher_fits_in_a_second_process_to_the_same_targets(imdb_folder, monkeypatch, capsys):
    train = imdb.load_reviews(imdb_folder, "train")
    unlabeled = imdb.load_reviews(imdb_folder, "unsup")
    config = Config(teacher="nb-lr", crops=2)
    taught, cropped = loop.texts_to_fit(config, train, unlabeled)
    here = loop.start_teacher(config, train, taught, cropped)()
    assert "in a second process" not in capsys.readouterr().out  # a few texts: fitted here
    monkeypatch.setattr(loop, "BESIDE_FROM", 0)
    waiting = loop.start_teacher(config, train, taught, cropped)
    np.testing.assert_array_equal(waiting(), here)  # the same NB-LR, bit for bit
    assert "fitted in a second process" in capsys.readouterr().out
    assert len(here) == len(taught) + len(cropped)


def test_train_fits_on_the_taught_reviews_and_validates_on_labels_only(imdb_folder, tmp_path, monkeypatch):
    """`train(--teacher nb-lr)` feeds `fit` the training plus unlabeled reviews with their
    targets, and validation stays one-hot on the labeled reviews."""
    from sentiment_lstm.text import pipeline

    calls = []
    make_dataset = pipeline.make_dataset

    def spy(reviews, *args, targets=None, **kwargs):
        calls.append((list(reviews.texts), targets))
        return make_dataset(reviews, *args, targets=targets, **kwargs)

    monkeypatch.setattr(pipeline, "make_dataset", spy)
    config = Config(data=str(imdb_folder), val_fraction=0.5, epochs=1, units=2, embed_dim=2,
                    teacher="nb-lr", model_dir=str(tmp_path / "model"))
    loop.train(config)
    (fit_texts, fit_targets), = [call for call in calls if call[1] is not None]
    (val_texts, val_targets), = [call for call in calls if call[1] is None]
    unlabeled = imdb.load_reviews(imdb_folder, "unsup")
    assert len(fit_texts) == 2 + len(unlabeled) and fit_texts[2:] == unlabeled.texts
    assert fit_targets.shape == (len(fit_texts), 2) and len(val_texts) == 2
    assert Config.from_json((tmp_path / "model" / "config.json").read_text()).teacher == "nb-lr"


def test_a_teacher_of_three_classes_is_one_vs_rest_nb_lr_normalised():
    """Each class k gets NB-LR of "k or not" on its own log-count ratios; the probabilities
    are the regressions' sigmoids, normalised to sum to 1."""
    texts = ["good fun", "good film", "bad film", "bad plot", "dull plot", "dull dull"] * 3
    labels = [2, 2, 0, 0, 1, 1] * 3
    nb = teacher.NBLR(texts, labels, num_classes=3, C=10.0)
    x = nb.vectorizer.transform(["good plot", "dull film"]).toarray()
    for k in range(3):
        members = np.asarray(labels) == k
        p = 1 + nb.vectorizer.transform(np.asarray(texts)[members]).toarray().sum(0)
        q = 1 + nb.vectorizer.transform(np.asarray(texts)[~members]).toarray().sum(0)
        np.testing.assert_allclose(nb.ratios[k], np.log((p / p.sum()) / (q / q.sum())), rtol=1e-12)
    scores = np.stack([x * r @ c.coef_.ravel() + c.intercept_[0] for r, c in zip(nb.ratios, nb.classifiers)], 1)
    np.testing.assert_allclose(nb.log_odds(["good plot", "dull film"]), scores, rtol=1e-10)
    each = 1 / (1 + np.exp(-scores))
    probabilities = nb.predict_proba(["good plot", "dull film"])
    np.testing.assert_allclose(probabilities, each / each.sum(1, keepdims=True), rtol=1e-6)
    assert probabilities.dtype == np.float32 and probabilities.shape == (2, 3)
    assert nb.predict_proba(["good good"]).argmax() == 2 and nb.predict_proba(["dull"]).argmax() == 1


def test_two_classes_keep_the_binary_soft_targets():
    nb = teacher.NBLR(TEXTS, LABELS)
    np.testing.assert_array_equal(nb.predict_proba(["good", "bad plot"]),
                                  teacher.soft_targets(nb.log_odds(["good", "bad plot"])))
