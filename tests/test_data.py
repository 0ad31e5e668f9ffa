"""Tests of sentiment_lstm.data on IMDB copies, tables and fakes built in tmp_path.

(`test_datasets.py` tests the data package on other layouts and on any number of classes.)
"""
import sys
import types
import warnings

import numpy as np
import pytest

from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import imdb, tables
from sentiment_lstm.data.dataset import Dataset, split_validation
from sentiment_lstm.data.imdb import CLASS_NAMES, load_reviews, resolve_source

TINY_TRAIN_TEXTS = [
    "Awful<br />acting.",
    "Dull\ufffd\ufffd plot.",
    "Great film!",
    "A joy.<br /><br />Été magnifique 😀",
]


def load_quietly(source, split, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_reviews(source, split, **kwargs)


def generated_imdb(n_pos, n_neg, n_unsup=0):
    """IMDB files with distinct texts `pos <id>` / `neg <id>` / `unsup <id>`."""
    files = {}
    for label, count in (("pos", n_pos), ("neg", n_neg), ("unsup", n_unsup)):
        for i in range(count):
            files["train", label, f"{i}_5.txt"] = f"{label} {i}".encode()
    return files


@pytest.mark.parametrize("kind", ["imdb_folder", "imdb_archive"])
def test_train_split_texts_labels_and_order(kind, request):
    source = resolve_source(request.getfixturevalue(kind))
    with pytest.warns(UserWarning, match=r"^1 text\(s\) of .* \(train\) were not valid UTF-8"):
        reviews = load_reviews(source, "train")
    assert reviews.texts == TINY_TRAIN_TEXTS
    assert reviews.labels.dtype == np.int64
    assert reviews.labels.tolist() == [0, 0, 1, 1]
    assert reviews.class_names == CLASS_NAMES == ("negative", "positive")
    assert reviews.source == str(source)


@pytest.mark.parametrize("kind", ["imdb_folder", "imdb_archive"])
def test_test_and_unsup_splits(kind, request):
    source = resolve_source(request.getfixturevalue(kind))
    test = load_reviews(source, "test")
    unsup = load_reviews(source, "unsup")
    assert (test.texts, test.labels.tolist(), test.class_names) == (["Hated it.", "Loved it."], [0, 1], CLASS_NAMES)
    assert (unsup.texts, unsup.labels.tolist(), unsup.class_names) == (["No stars given."], [-1], ())


def test_undecodable_file_warns_once_per_load(imdb_archive):
    for _ in range(2):  # the second load reads the cached archive, and warns again
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_reviews(imdb_archive, "train")
        assert [str(w.message).split(" ")[0] for w in caught] == ["1"]


def test_resolve_source_accepts_folder_parent_and_archive(imdb_folder, imdb_archive):
    assert resolve_source(imdb_folder) == imdb_folder.resolve()
    assert resolve_source(imdb_folder.parent) == imdb_folder.resolve()
    assert resolve_source(str(imdb_archive)) == imdb_archive.resolve()
    assert imdb.is_imdb(imdb_folder) and imdb.is_imdb(imdb_folder.parent) and imdb.is_imdb(imdb_archive)
    assert not imdb.is_imdb(imdb_folder / "train")


def test_resolve_source_without_path_finds_local_copy_relative_to_cwd(
    tmp_path, write_imdb, monkeypatch
):
    folder = write_imdb(generated_imdb(1, 1), name="data")
    monkeypatch.setattr(imdb, "REPO_ROOT", tmp_path / "elsewhere")
    monkeypatch.chdir(folder.parents[1])
    assert resolve_source() == folder.resolve()


def test_resolve_source_without_path_or_local_copy_is_tfds(tmp_path, monkeypatch):
    monkeypatch.setattr(imdb, "REPO_ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert resolve_source() == "tfds"


@pytest.mark.parametrize(
    "layout, message",
    [
        (None, "does not exist"),
        ([], "is neither an aclImdb/ folder"),
        (["aclImdb/pos", "aclImdb/neg"], "is neither an aclImdb/ folder"),
    ],
    ids=["missing", "empty-folder", "wrong-layout"],
)
def test_resolve_source_rejects_bad_paths(tmp_path, layout, message):
    root = tmp_path / "imdb"
    for folder in [] if layout is None else ["", *layout]:
        (root / folder).mkdir(parents=True, exist_ok=True)
    with pytest.raises(UserError, match=message):
        resolve_source(root)


def test_folder_without_split_or_reviews_is_a_user_error(write_imdb):
    folder = write_imdb({("train", "pos", "0_9.txt"): b"Good."})
    with pytest.raises(UserError, match="has no train/neg/ folder"):
        load_reviews(folder, "train")
    (folder / "test" / "pos").mkdir(parents=True)
    (folder / "test" / "neg").mkdir()  # empty class folders: no test texts
    with pytest.raises(UserError, match=r"has no test split; its splits are train\.$"):
        load_reviews(folder, "test")


def test_folders_other_than_neg_and_pos_are_a_user_error(write_imdb):
    files = generated_imdb(1, 1)
    files["train", "neutral", "0_5.txt"] = b"So-so."
    with pytest.raises(UserError, match=r"has folders other than neg/ and pos/ in train/, so it is not an aclImdb/"):
        load_reviews(write_imdb(files), "train")


def test_archive_without_the_split_is_a_user_error(write_imdb):
    archive = write_imdb(generated_imdb(1, 1), archive=True)  # aclImdb/train/ alone
    with pytest.raises(UserError, match=r"aclImdb_v1.tar.gz has no test split; its splits are train\.$"):
        load_reviews(archive, "test")
    with pytest.raises(UserError, match=r"No unlabeled texts \(an unsup/ folder\) were found in .*aclImdb_v1"):
        load_reviews(archive, "unsup")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_archive_is_a_user_error(imdb_archive, damage):
    content = imdb_archive.read_bytes()
    damaged = {"truncated": content[: len(content) // 2], "garbage": b"\x1f\x8b" + b"x" * 500}
    imdb_archive.write_bytes(damaged.get(damage, b""))
    with pytest.raises(UserError, match=r"aclImdb_v1.tar.gz is not a readable archive of class folders \(") as error:
        load_reviews(imdb_archive, "train")
    assert "\n" not in str(error.value)


def test_unknown_split_or_missing_source_is_a_user_error(imdb_folder):
    with pytest.raises(UserError, match="Unknown split 'valid'"):
        load_reviews(imdb_folder, "valid")
    with pytest.raises(UserError, match="gone.tar.gz does not exist"):
        load_reviews(imdb_folder / "gone.tar.gz", "train")


@pytest.mark.parametrize("archive", [False, True])
def test_order_is_by_class_then_numeric_id(write_imdb, archive):
    names = ["10_9.txt", "9_9.txt", "notes.txt", "100_8.txt"]
    files = {("test", "pos", name): name.encode() for name in names}
    files["test", "neg", "5_1.txt"] = b"5_1.txt"
    source = write_imdb(files, archive=archive)
    expected = ["5_1.txt", "notes.txt", "9_9.txt", "10_9.txt", "100_8.txt"]
    assert load_reviews(source, "test").texts == expected


def test_limit_is_balanced_seeded_and_deterministic(write_imdb):
    folder = write_imdb(generated_imdb(n_pos=30, n_neg=50))
    first = load_reviews(folder, "train", limit=21, seed=1)
    assert np.bincount(first.labels).tolist() == [10, 10]
    assert [text.split()[0] for text in first.texts] == ["neg"] * 10 + ["pos"] * 10
    assert load_reviews(folder, "train", limit=21, seed=1).texts == first.texts
    assert load_reviews(folder, "train", limit=21, seed=2).texts != first.texts


def test_limit_on_unsup_and_beyond_the_data(write_imdb):
    folder = write_imdb(generated_imdb(n_pos=3, n_neg=2, n_unsup=9))
    unsup = load_reviews(folder, "unsup", limit=5)
    assert len(unsup) == 5 and set(unsup.labels.tolist()) == {-1}
    assert np.bincount(load_reviews(folder, "train", limit=100).labels).tolist() == [2, 3]
    assert np.bincount(load_reviews(folder, "train", limit=4).labels).tolist() == [2, 2]
    # the smaller class gives all it has; the other takes the rest of the limit
    assert np.bincount(load_reviews(folder, "train", limit=5).labels).tolist() == [2, 3]
    with pytest.raises(UserError, match="--limit 1 is below the 2 classes"):
        load_reviews(folder, "train", limit=1)
    with pytest.raises(UserError, match="--limit must be at least 1, not 0"):
        load_reviews(folder, "train", limit=0)


def labeled_reviews(n_neg=140, n_pos=60):
    labels = np.array([0] * n_neg + [1] * n_pos, dtype=np.int64)
    return Dataset([f"review {i}" for i in range(len(labels))], labels, CLASS_NAMES, source="reviews.csv")


def test_split_validation_is_disjoint_stratified_and_seeded():
    reviews = labeled_reviews()
    train, valid = split_validation(reviews, fraction=0.1, seed=0)
    assert (len(train), len(valid)) == (180, 20)
    assert set(train.texts).isdisjoint(valid.texts)
    assert sorted(train.texts + valid.texts) == sorted(reviews.texts)
    assert np.bincount(valid.labels).tolist() == [14, 6]
    assert np.bincount(train.labels).tolist() == [126, 54]
    assert [int(t.split()[1]) for t in valid.texts] == sorted(int(t.split()[1]) for t in valid.texts)
    assert train.class_names == valid.class_names == CLASS_NAMES
    assert split_validation(reviews, fraction=0.1, seed=0)[1].texts == valid.texts
    assert split_validation(reviews, fraction=0.1, seed=1)[1].texts != valid.texts


@pytest.mark.parametrize(
    "reviews, fraction, message",
    [
        (labeled_reviews(), 0.0, "between 0 and 1"),
        (labeled_reviews(), 1.5, "between 0 and 1"),
        (Dataset.unlabeled(["a", "b"]), 0.5, "Only labeled texts"),
        (labeled_reviews(n_neg=5, n_pos=1), 0.2, "The class 'positive' of reviews.csv has only one text"),
        (labeled_reviews(n_neg=5, n_pos=5), 0.1, "A stratified validation split of 1 of the 10 texts of reviews.csv "
                                                 "cannot hold a text of each of their 2 classes"),
    ],
    ids=["zero", "above-one", "unlabeled", "one-text-class", "too-small"],
)
def test_split_validation_rejects_bad_input(reviews, fraction, message):
    with pytest.raises(UserError, match=message) as error:
        split_validation(reviews, fraction=fraction)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "name, content, second_text, class_names",
    [
        (
            "reviews.csv",
            'id,Text,Label\n1,"Good, really<br />good",Positive\n2,"Bad\nbad",Negative\n',
            "Bad\nbad",
            ("Negative", "Positive"),
        ),
        ("reviews.tsv", "review\tsentiment\nGood, really<br />good\t1\n\nBad bad\t0\n", "Bad bad", ("0", "1")),
        (
            "reviews.jsonl",
            '{"text": "Good, really<br />good", "label": 1}\n\n{"text": "Bad bad", "label": 0}\n',
            "Bad bad",
            ("0", "1"),
        ),
    ],
    ids=["csv-named-labels", "tsv-numeric-labels", "json-lines"],
)
def test_load_table(tmp_path, name, content, second_text, class_names):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    reviews = tables.load(path)
    assert reviews.texts == ["Good, really<br />good", second_text]
    assert reviews.labels.tolist() == [1, 0]
    assert reviews.labels.dtype == np.int64
    assert reviews.class_names == class_names
    assert reviews.source == str(path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "The table .*bad.csv is empty"),
        ("text,label\n", "The table .*bad.csv has a header but no rows"),
        ("id,label\nGood,1\n", "has no text column .*its columns are 'id', 'label'"),
        ("text,stars\nGood,1\n", "has no label column .*its columns are 'text', 'stars'"),
        ("text,label\nGood,1\nBad, \n", r"Line 3 of .*bad.csv has a blank label in 'label'\."),
        ("text,label\nGood\n", "Line 2 of .*bad.csv has 1 field"),
    ],
    ids=["empty", "header-only", "no-text-column", "no-label-column", "blank-label", "short-row"],
)
def test_load_table_rejects_bad_tables(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message) as error:
        tables.load(path)
    assert "\n" not in str(error.value)


def test_load_table_missing_file(tmp_path):
    with pytest.raises(UserError, match="nope.csv does not exist"):
        tables.load(tmp_path / "nope.csv")


class FakeSplit:
    """What `tfds.load(..., as_supervised=True)` returns, as far as `imdb` reads it."""

    def __init__(self, pairs):
        self.pairs = pairs

    def as_numpy_iterator(self):
        return iter(self.pairs)


def fake_tfds(monkeypatch, load):
    module = types.ModuleType("tensorflow_datasets")
    module.load = load
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", module)


def test_tfds_download_failure_is_a_user_error(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    fake_tfds(monkeypatch, offline)
    with pytest.raises(UserError, match="No local copy of IMDB was found .* failed .*--data"):
        load_reviews("tfds", "train")


def test_tfds_reviews_are_converted(monkeypatch):
    calls = []

    def load(name, split, as_supervised, data_dir):
        calls.append((name, split, as_supervised, data_dir))
        texts = [b"Nice.", "Été".encode(), b"Meh.", b"Bad \xff bytes."]
        return FakeSplit(list(zip(texts, np.array([1, 0, 0, 1]))))

    fake_tfds(monkeypatch, load)
    reviews = load_reviews("tfds", "train")
    tfds_dir = str(imdb.REPO_ROOT / "data" / "tfds")
    assert calls == [("imdb_reviews", "train", True, tfds_dir)]
    assert reviews.texts == ["Nice.", "Été", "Meh.", "Bad \ufffd bytes."]
    assert reviews.labels.tolist() == [1, 0, 0, 1] and reviews.labels.dtype == np.int64
    assert reviews.class_names == CLASS_NAMES
    unsup = load_reviews("tfds", "unsup", limit=2)
    assert calls[-1] == ("imdb_reviews", "unsupervised", True, tfds_dir)
    assert (len(unsup), unsup.labels.tolist(), unsup.class_names) == (2, [-1, -1], ())


def test_real_archive_test_split_slice(real_archive):
    reviews = load_quietly(resolve_source(real_archive), "test", limit=20)
    assert np.bincount(reviews.labels).tolist() == [10, 10]
    assert reviews.class_names == CLASS_NAMES
    assert all(isinstance(text, str) and text.strip() for text in reviews.texts)
    assert load_quietly(real_archive, "test", limit=20).texts == reviews.texts
