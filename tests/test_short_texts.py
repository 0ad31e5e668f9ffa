"""Short texts: the crops training adds (`data/crops.py`, `--crops`), and what a model
trained by the default recipe answers to sentences people type."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REAL_ARCHIVE
from script_runner import REPO

from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import crops
from sentiment_lstm.data.dataset import UNLABELED, Dataset, concatenate
from sentiment_lstm.text.tokenizer import make_vectorizer
from sentiment_lstm.training import loop, teacher

REVIEW = ("I expected little. The first hour is dull and the dialogue is flat!<br /><br />Then it "
          "turns: the last act is moving, funny and tense, with a score that lifts every scene "
          "and a cast that finally gets something to do, so by the end I was won over entirely.\n"
          "Would I watch it again? Yes.")


def test_sentences_split_after_end_marks_and_at_line_breaks():
    assert crops.sentences(REVIEW) == [
        "I expected little.", "The first hour is dull and the dialogue is flat!",
        "Then it turns: the last act is moving, funny and tense, with a score that lifts every scene and a "
        "cast that finally gets something to do, so by the end I was won over entirely.",
        "Would I watch it again?", "Yes."]
    assert crops.sentences("  ") == [] and crops.sentences("no end mark") == ["no end mark"]


def test_crops_are_short_spans_of_their_text_and_repeat_with_the_seed():
    words = " ".join(REVIEW.replace("<br /><br />", " ").split())
    cut, sources = crops.crops([REVIEW, "Short.", ""], per_text=50, seed=3)
    assert set(sources.tolist()) == {0}  # a text too short to crop adds nothing
    assert len(cut) == len(sources) <= 50
    for piece in cut:
        assert crops.MIN_WORDS <= len(piece.split()) <= crops.MOST_WORDS or piece in crops.sentences(REVIEW)
        assert piece in words or all(part in words for part in crops.sentences(piece))
    assert len(set(cut)) > 10  # sentences, pairs of them and windows of words
    assert crops.crops([REVIEW, "Short."], per_text=50, seed=3)[0] == cut
    assert crops.crops([REVIEW], per_text=50, seed=4)[0] != cut


def test_crops_take_the_teachers_probabilities_or_their_texts_labels():
    texts = ["a good film. great fun!", "a bad film. dull plot.", "good acting. great score.", "bad plot. awful."]
    train = Dataset(texts, np.array([1, 0, 1, 0]), ("negative", "positive"), "test")
    unlabeled = Dataset.unlabeled(["great, great film. good.", "dull and bad. awful."])
    nb_lr = teacher.NBLR(texts, train.labels)
    config = Config(crops=3)

    taught, cropped = loop.texts_to_fit(config, train, unlabeled)  # no teacher: the texts' labels
    assert taught is train and loop.start_teacher(config, train, taught, cropped)() is None
    assert len(cropped) > 0 and (cropped.labels != UNLABELED).all()  # of the labeled texts only
    for piece, label in zip(cropped.texts, cropped.labels):
        assert label == next(k for k, text in zip(train.labels, texts) if piece in text)

    config = Config(crops=3, teacher="nb-lr")
    taught, cropped = loop.texts_to_fit(config, train, unlabeled)
    targets = loop.start_teacher(config, train, taught, cropped)()  # a teacher: its probabilities
    assert len(targets) == len(taught) + len(cropped) and taught.texts == texts + unlabeled.texts
    np.testing.assert_array_equal(targets[:4], np.eye(2)[train.labels])
    np.testing.assert_allclose(targets[4:6], nb_lr.predict_proba(unlabeled.texts), atol=1e-6)
    np.testing.assert_allclose(targets[6:], nb_lr.predict_proba(cropped.texts), atol=1e-6)
    assert (cropped.labels == UNLABELED).any()  # unlabeled crops too

    both = concatenate(train, unlabeled)
    assert (loop.cut_crops(both, config, keep_unlabeled=False).labels != UNLABELED).all()  # no teacher: labeled only
    assert loop.cut_crops(train, Config()) is None  # --crops 0


def test_the_teacher_is_fitted_only_with_something_to_teach(capsys):
    questions = Dataset(["What is it?", "Who is he?", "Where now?", "Why not?"], np.array([0, 1, 0, 1]), ("a", "b"))
    config = Config(teacher="nb-lr", crops=2)
    assert loop.cut_crops(questions, config) is None  # every text a crop's length
    inputs = loop.fit_inputs(config, questions, None, None, make_vectorizer(questions.texts))
    assert inputs.crops == 0 and "not fitted" in capsys.readouterr().out
    long_texts = Dataset([f"{t} one. {t} two. {t} three." for t in questions.texts], questions.labels, ("a", "b"))
    assert loop.fit_inputs(config, long_texts, None, None).crops > 0
    assert "fitted on the 4 training texts" in capsys.readouterr().out


def test_a_teacher_of_crops_needs_no_unlabeled_texts(tmp_path):
    table = tmp_path / "texts.csv"
    table.write_text("text,label\n" + "".join(f'"{t}. fine. great.",pos\n"{t}. poor. awful.",neg\n' for t in "abcdef"))
    train = Dataset.from_names(["a"], ["pos"], source=str(table))
    with pytest.raises(UserError, match="--unlabeled"):
        loop.unlabeled_texts(Config(data=str(table), teacher="nb-lr"), train)
    assert loop.unlabeled_texts(Config(data=str(table), teacher="nb-lr", crops=2), train) is None


# Sentences of our own writing, as people type them into the demo page: one word,
# negations, contrasts. (The README's examples come first.)
README_EXAMPLES = {"A great film.": "positive", "A slow start, then superb.": "positive",
                   "Not good at all.": "negative", "Dull.": "negative"}
SENTENCES = {
    **README_EXAMPLES,
    "Wonderful.": "positive", "Brilliant!": "positive", "Loved it.": "positive", "A masterpiece.": "positive",
    "Highly recommended.": "positive", "Surprisingly good.": "positive", "I was not disappointed.": "positive",
    "The best film I have seen this year.": "positive", "Funny, moving and beautifully shot.": "positive",
    "The plot is thin, but the acting is excellent.": "positive", "I would happily watch it again.": "positive",
    "It made me laugh and cry.": "positive", "Never boring for a second.": "positive",
    "Great cast, great story.": "positive", "An absolute delight from start to finish.": "positive",
    "Awful.": "negative", "Boring!": "negative", "Avoid.": "negative", "A waste of time.": "negative",
    "The worst movie ever made.": "negative", "I fell asleep halfway through.": "negative",
    "Great actors, terrible script.": "negative", "It looks nice, but the story is a mess.": "negative",
    "Not worth watching.": "negative", "I wanted to like it, but I could not.": "negative",
    "Painfully slow and predictable.": "negative", "Not funny, not scary, just bad.": "negative",
    "What a disappointment.": "negative", "Poorly acted and badly written.": "negative",
    "I want my money back.": "negative", "Two hours I will not get back.": "negative",
}
SENTENCES_RIGHT = 0.9  # the share of SENTENCES a model of the default recipe gets right, at least


@pytest.fixture(scope="session")
def default_model(tmp_path_factory):
    """A model of the default recipe, trained on IMDB as the README's first command trains
    it (a few minutes); `SENTIMENT_LSTM_DEFAULT_MODEL` names one trained already instead."""
    if os.environ.get("SENTIMENT_LSTM_DEFAULT_MODEL"):
        return os.environ["SENTIMENT_LSTM_DEFAULT_MODEL"]
    if not REAL_ARCHIVE.is_file():
        pytest.skip(f"the IMDB archive is not at {REAL_ARCHIVE}")
    model_dir = tmp_path_factory.mktemp("default") / "imdb_lstm"
    result = subprocess.run([sys.executable, "train.py", "--model-dir", str(model_dir)], cwd=REPO,
                            capture_output=True, timeout=1800)
    assert result.returncode == 0, result.stderr.decode()
    return model_dir


def test_the_default_model_reads_short_sentences_right(default_model):
    import sentiment_lstm

    classifier = sentiment_lstm.load(default_model)
    predictions = classifier.predict(list(SENTENCES))
    wrong = {text: p["label"] for text, p in zip(SENTENCES, predictions) if p["label"] != SENTENCES[text]}
    assert not set(wrong) & set(README_EXAMPLES), wrong
    assert len(wrong) <= (1 - SENTENCES_RIGHT) * len(SENTENCES), wrong
