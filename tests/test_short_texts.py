"""Short texts: the crops training adds (`data/crops.py`, `--crops`), and what a model
trained by the default recipe answers to sentences people type."""
import numpy as np
import pytest

from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import crops
from sentiment_lstm.data.dataset import UNLABELED, Dataset, concatenate
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

    fit, targets = loop.with_crops(train, None, None, config)  # no teacher: the texts' labels
    assert targets is None and fit.texts[:4] == texts and len(fit) > 4
    added = fit.subset(np.arange(4, len(fit)))
    for piece, label in zip(added.texts, added.labels):
        assert label == next(k for k, text in zip(train.labels, texts) if piece in text)

    taught, soft = loop.taught_texts(train, unlabeled, nb_lr)
    fit, targets = loop.with_crops(taught, soft, nb_lr, config)  # a teacher: its probabilities, unlabeled crops too
    assert len(targets) == len(fit) and fit.texts[:6] == taught.texts
    np.testing.assert_array_equal(targets[:6], soft)
    np.testing.assert_allclose(targets[6:], nb_lr.predict_proba(fit.texts[6:]), atol=1e-6)
    assert (fit.labels[6:] == UNLABELED).any()

    fit, targets = loop.with_crops(concatenate(train, unlabeled), None, None, config)  # no teacher: labeled crops only
    assert targets is None and (fit.labels[6:] != UNLABELED).all()
    assert loop.with_crops(train, None, nb_lr, Config()) == (train, None)  # --crops 0: nothing added


def test_a_teacher_of_crops_needs_no_unlabeled_texts(tmp_path):
    table = tmp_path / "texts.csv"
    table.write_text("text,label\n" + "".join(f'"{t}. fine. great.",pos\n"{t}. poor. awful.",neg\n' for t in "abcdef"))
    train = Dataset.from_names(["a"], ["pos"], source=str(table))
    with pytest.raises(UserError, match="--unlabeled"):
        loop.unlabeled_texts(Config(data=str(table), teacher="nb-lr"), train)
    assert loop.unlabeled_texts(Config(data=str(table), teacher="nb-lr", crops=2), train) is None
