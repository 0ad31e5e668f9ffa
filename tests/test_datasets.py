"""Tests of the data package on any labeled texts: `Dataset` and its splits, tables (CSV,
TSV, JSON lines), class folders and their archives, `sources`, with 2, 3 and 20 classes;
then on slices of the shared 20 Newsgroups archive and TREC table (skipped without them).

Everything but the real-data tests is built in tmp_path; nothing loads TensorFlow.
"""
import csv
import io
import json
import re
import subprocess
import sys
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import folders, sources, streaming, tables
from sentiment_lstm.data.dataset import (
    UNLABELED,
    Dataset,
    balanced_subset,
    concatenate,
    sort_class_names,
    split_validation,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared" / "data"
NEWS = SHARED / "20news-bydate.tar.gz"
TREC = SHARED / "trec" / "train.csv"


def class_names(n):
    """`n` class names that sort as text in the order given: "c00", "c01", ..."""
    return [f"c{k:02d}" for k in range(n)]


def imbalanced(n):
    """`(texts, names)`: class k of `class_names(n)` has k + 2 texts, the classes interleaved."""
    names = [name for k, name in enumerate(class_names(n)) for _ in range(k + 2)]
    order = np.random.default_rng(0).permutation(len(names))
    names = [names[i] for i in order]
    return [f"text {i} of {name}" for i, name in enumerate(names)], names


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_files(root, files):
    """Write `{relative path: str or bytes}` under `root`; return `root`."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def write_archive(path, files):
    """A .tar.gz or .zip (by `path`'s name) of `{relative path: str or bytes}`."""
    items = [(name, content if isinstance(content, bytes) else content.encode()) for name, content in files.items()]
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in items:
                archive.writestr(name, content)
    else:
        with tarfile.open(path, "w:gz") as archive:
            for name, content in reversed(items):  # members out of order: reading sorts them
                member = tarfile.TarInfo(name)
                member.size = len(content)
                archive.addfile(member, io.BytesIO(content))
    return path


def one_sentence(error):
    """The message of a `pytest.raises` `error`, checked to be one sentence on one line."""
    message = str(error.value)
    assert "\n" not in message and message.endswith("."), message
    return message


# Dataset ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 20])
def test_from_names_sorts_the_classes_and_indexes_them(n):
    texts, names = imbalanced(n)
    data = Dataset.from_names(texts, names, source="mine.csv")
    assert data.class_names == tuple(class_names(n)) and data.num_classes == n
    assert [data.class_names[k] for k in data.labels] == names
    assert data.counts() == {name: k + 2 for k, name in enumerate(class_names(n))}
    assert (len(data), data.texts, data.source) == (len(texts), texts, "mine.csv")


def test_integer_class_names_sort_numerically():
    data = Dataset.from_names(list("abcdef"), ["10", "2", "1", "2", "-1", "10"])
    assert data.class_names == ("-1", "1", "2", "10")
    assert data.labels.tolist() == [3, 2, 1, 2, 0, 3]
    assert Dataset.from_names(["x"] * 3, [10, 2, 1]).class_names == ("1", "2", "10")  # integers kept as names
    assert sort_class_names(["10", "2", "x"]) == ("10", "2", "x")  # not all integers: as text
    assert sort_class_names(["1_000", "5"]) == ("1_000", "5")  # "1_000" is not written as an integer
    assert sort_class_names(["7.0", "10"]) == ("10", "7.0")


def test_unlabeled_texts_and_bad_labels():
    texts = Dataset.unlabeled(["a", "b"], source="notes.txt")
    assert (texts.labels.tolist(), texts.class_names, texts.counts()) == ([UNLABELED, UNLABELED], (), {})
    mixed = Dataset.from_names(["a", "b", "c"], ["x", None, "y"])
    assert (mixed.labels.tolist(), mixed.counts()) == ([0, UNLABELED, 1], {"x": 1, "y": 1})
    with pytest.raises(ValueError, match="index `class_names`"):
        Dataset(["a", "b"], [0, 2], ("x", "y"))
    with pytest.raises(ValueError, match="one entry per text"):
        Dataset(["a"], [0, 1], ("x", "y"))


def test_with_classes_matches_names_and_reports_unknown_classes():
    data = Dataset.from_names(list("abcdef"), ["cat", "dog", "cow", "dog", None, "cat"], source="pets.csv")
    same, unknown = data.with_classes(("dog", "cat", "cow"))
    assert (same.texts, unknown, same.class_names) == (data.texts, {}, ("dog", "cat", "cow"))
    assert same.labels.tolist() == [1, 0, 2, 0, UNLABELED, 1]
    fewer, unknown = data.with_classes(["dog", "cat", "bird"])
    assert unknown == {"cow": 1}
    assert (fewer.texts, fewer.labels.tolist()) == (list("abdef"), [1, 0, 0, UNLABELED, 1])
    assert fewer.counts() == {"dog": 2, "cat": 2, "bird": 0} and fewer.source == "pets.csv"


def test_with_classes_takes_integer_k_as_class_k_only_when_no_class_name_is_an_integer():
    data = Dataset.from_names(list("abcd"), ["1", "0", "1", "2"])
    by_position, unknown = data.with_classes(("negative", "positive"))
    assert unknown == {"2": 1}
    assert (by_position.texts, by_position.labels.tolist()) == (list("abc"), [1, 0, 1])
    by_name, unknown = data.with_classes(("1", "2"))  # integer class names: "0" is no class
    assert unknown == {"0": 1}
    assert (by_name.texts, by_name.labels.tolist()) == (list("acd"), [0, 0, 1])
    named, unknown = Dataset.from_names(["a", "b"], ["positive", "0"]).with_classes(("negative", "positive"))
    assert (named.labels.tolist(), unknown) == ([1, 0], {})


@pytest.mark.parametrize("n", [2, 3, 20])
def test_balanced_subset_takes_the_same_share_of_each_class(n):
    texts, names = [], []
    for name in class_names(n):
        texts += [f"{name} {i}" for i in range(12)]
        names += [name] * 12
    data = Dataset.from_names(texts, names)
    subset = balanced_subset(data, 10 * n + n - 1, seed=3)
    assert subset.counts() == dict.fromkeys(class_names(n), 10)
    assert [data.texts.index(text) for text in subset.texts] == sorted(data.texts.index(t) for t in subset.texts)
    assert balanced_subset(data, 10 * n, seed=3).texts == balanced_subset(data, 10 * n, seed=3).texts
    assert balanced_subset(data, 10 * n, seed=4).texts != balanced_subset(data, 10 * n, seed=3).texts
    with pytest.raises(UserError, match=f"--limit {n - 1} is below the {n} classes"):
        balanced_subset(data, n - 1)


def test_balanced_subset_of_imbalanced_classes_takes_all_of_a_small_class():
    data = Dataset.from_names([str(i) for i in range(85)], ["big"] * 50 + ["small"] * 5 + ["mid"] * 30)
    assert balanced_subset(data, 60).counts() == {"big": 27, "mid": 27, "small": 5}
    assert balanced_subset(data, 30).counts() == {"big": 12, "mid": 12, "small": 5}
    assert balanced_subset(data, 200).counts() == {"big": 50, "mid": 30, "small": 5}
    assert balanced_subset(data, 84).counts() == {"big": 49, "mid": 30, "small": 5}
    unlabeled = balanced_subset(Dataset.unlabeled([str(i) for i in range(9)]), 4)
    assert len(unlabeled) == 4 and set(unlabeled.labels.tolist()) == {UNLABELED}


@pytest.mark.parametrize("n", [2, 3, 20])
def test_split_validation_is_stratified(n):
    counts = [10 * (k % 3 + 1) for k in range(n)]  # 10, 20, 30, 10, ... texts
    names = [name for name, count in zip(class_names(n), counts) for _ in range(count)]
    data = Dataset.from_names([f"t{i}" for i in range(len(names))], names)
    train, validation = split_validation(data, fraction=0.1, seed=0)
    assert list(validation.counts().values()) == [count // 10 for count in counts]
    assert list(train.counts().values()) == [count - count // 10 for count in counts]
    assert set(train.texts).isdisjoint(validation.texts) and len(train) + len(validation) == len(data)
    assert train.class_names == validation.class_names == data.class_names


def test_split_validation_names_the_class_with_one_text():
    data = Dataset.from_names(list("abcdefg"), ["x", "x", "x", "rare", "y", "y", "y"], source="mine.csv")
    with pytest.raises(UserError, match="The class 'rare' of mine.csv has only one text") as error:
        split_validation(data, 0.3)
    assert "--val-data" in one_sentence(error)


def test_split_validation_too_small_for_the_classes():
    data = Dataset.from_names([str(i) for i in range(40)], [f"c{i % 20}" for i in range(40)], source="mine.csv")
    with pytest.raises(UserError, match="split of 4 of the 40 texts of mine.csv cannot hold a text of each of "
                                        "their 20 classes") as error:
        split_validation(data, 0.1)
    one_sentence(error)
    assert len(split_validation(data, 0.5)[1]) == 20


def test_concatenate_keeps_the_classes():
    labeled = Dataset.from_names(["a", "b"], ["x", "y"], source="mine.csv")
    both = concatenate(labeled, Dataset.unlabeled(["c"]))
    assert (both.texts, both.labels.tolist(), both.class_names) == (["a", "b", "c"], [0, 1, UNLABELED], ("x", "y"))
    with pytest.raises(ValueError, match="Cannot concatenate"):
        concatenate(labeled, Dataset.from_names(["c"], ["z"]))


# Tables ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 20])
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_table_of_n_classes(tmp_path, n, suffix):
    texts, names = imbalanced(n)
    texts[0] = 'Quoted, "with" a comma\nand a line break'
    path = tmp_path / f"mine{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps({"label": name, "text": text}) + "\n" for text, name in zip(texts, names)))
    else:
        write_csv(path, ["id", "Text", "Label"], [[i, t, c] for i, (t, c) in enumerate(zip(texts, names))],
                  delimiter=tables.DELIMITERS[suffix])
    data = tables.load(path)
    assert data.texts == texts
    assert data.class_names == tuple(class_names(n))
    assert [data.class_names[k] for k in data.labels] == names
    assert data.counts() == {name: k + 2 for k, name in enumerate(class_names(n))}


def test_table_of_integer_labels(tmp_path):
    path = write_csv(tmp_path / "stars.tsv", ["review", "stars"], [["ok", 10], ["meh", 2], ["bad", 1], ["fine", 2]],
                     delimiter="\t")
    data = tables.load(path, label_column="stars")
    assert data.class_names == ("1", "2", "10")
    assert data.labels.tolist() == [2, 1, 0, 1]
    assert data.texts == ["ok", "meh", "bad", "fine"]


def test_json_lines_with_text_and_label_keys(tmp_path):
    path = tmp_path / "mine.jsonl"
    lines = [{"id": 1, "text": "Émoji 😀", "label": 2}, {"id": 2, "text": "two", "label": 1.0},
             {"id": 3, "text": "three", "label": "10"}]
    path.write_text(json.dumps(lines[0]) + "\n\n" + "".join(json.dumps(line) + "\n" for line in lines[1:]))
    data = tables.load(path)
    assert data.texts == ["Émoji 😀", "two", "three"]
    assert data.class_names == ("1", "2", "10")  # JSON's 1.0 is the class "1"
    assert data.labels.tolist() == [1, 0, 2]
    custom = tmp_path / "custom.jsonl"
    custom.write_text('{"utterance": "hi", "intent_name": "greet"}\n{"utterance": "bye", "intent_name": "leave"}\n')
    data = tables.load(custom, text_column="utterance", label_column="Intent_Name")
    assert (data.texts, data.class_names, data.labels.tolist()) == (["hi", "bye"], ("greet", "leave"), [0, 1])
    mixed = tmp_path / "mixed.jsonl"  # each object's keys are found in it
    mixed.write_text('{"text": "a", "label": "x"}\n{"Review": "b", "sentiment": "y", "text_id": 2}\n{"text": "c"}\n')
    assert [text for text, _ in streaming.iter_records(files=[str(mixed)])] == ["a", "b", "c"]
    with pytest.raises(UserError) as error:
        tables.load(mixed)
    assert one_sentence(error) == f"Line 3 of {mixed} has no label in 'label'."


@pytest.mark.parametrize("content, message", [
    ('{"text": "a", "label": "x"}\n[1, 2]\n', r"Line 2 of .*bad.jsonl is not a JSON object\."),
    ('{"text": "a", "label": "x"}\n{"text": "b", \n', r"Line 2 of .*bad.jsonl is not JSON \("),
    ('{"text": "a", "label": "x"}\n{"text": "b", "label": ["x", "y"]}\n',
     r"Line 2 of .*bad.jsonl has no label in 'label' \(one label per text, not list\)\."),
    ('{"text": "a", "label": "x"}\n{"text": "b"}\n', r"Line 2 of .*bad.jsonl has no label in 'label'\."),
    ('{"text": "a", "label": "x"}\n{"text": 7, "label": "y"}\n', r"Line 2 of .*bad.jsonl has no 'text' string\."),
    ('{"title": "a", "label": "x"}\n', r"has no text key \(one named text, .*\); its keys are 'title', 'label'"),
], ids=["not-an-object", "not-json", "label-list", "no-label", "text-not-string", "no-text-key"])
def test_bad_json_lines_are_one_sentence(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(UserError, match=message) as error:
        tables.load(path)
    one_sentence(error)


@pytest.mark.parametrize("name, content", [("empty.csv", ""), ("blank.tsv", "\n\n"), ("empty.jsonl", "")])
def test_an_empty_table_is_one_sentence(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError) as error:
        tables.load(path)
    assert one_sentence(error) == f"The table {path} is empty."
    with pytest.raises(UserError, match=re.escape(f"The table {path} is empty.")):
        sources.check(path)


def test_a_table_without_the_named_column_lists_its_columns(tmp_path):
    path = write_csv(tmp_path / "mine.csv", ["id", "body", "stars"], [[1, "good", 5]])
    with pytest.raises(UserError) as error:
        tables.load(path, text_column="review", label_column="stars")
    assert one_sentence(error) == (f"The table {path} has no text column 'review'; its columns are 'id', 'body', "
                                   "'stars'.")
    with pytest.raises(UserError, match=r"has no label column \(one named label, labels, class, category ...\); its "
                                        "columns are 'id', 'body', 'stars': name one with --label-column.") as error:
        tables.load(path)  # the text is `body` by default, but no label column is
    one_sentence(error)
    assert tables.load(path, label_column="STARS").texts == ["good"]


def test_a_blank_label_gives_its_line(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text('text,label\ngood,pos\n"two\nlines",neg\nbad,  \n')
    with pytest.raises(UserError) as error:
        tables.load(path)
    assert one_sentence(error) == f"Line 5 of {path} has a blank label in 'label'."


def test_a_short_row_gives_its_line(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("id,text,label\n1,good,pos\n2,bad\n")
    with pytest.raises(UserError) as error:
        tables.load(path)
    assert one_sentence(error) == f"Line 3 of {path} has 2 field(s) but the header has 3."


def test_undecodable_bytes_of_a_table_are_counted_in_one_warning(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes(b"\xef\xbb\xbftext,label\ngood,pos\nb\xe9ad,neg\nok \xff\xfe,pos\n" + "Été,neg\n".encode())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = tables.load(path)
    assert [str(w.message) for w in caught] == [
        f"2 line(s) of {path} (the first: line 3) were not valid UTF-8; invalid bytes were replaced with U+FFFD."]
    assert data.texts == ["good", "b\ufffdad", "ok \ufffd\ufffd", "Été"]
    assert data.class_names == ("neg", "pos")  # the byte-order mark is not part of the header


def test_a_text_longer_than_csvs_field_limit(tmp_path):
    long = "word " * 60_000  # 300,000 characters: above csv's default limit of 131,072 a field
    path = write_csv(tmp_path / "long.csv", ["text", "label"], [[long, "a"], ["short", "b"]])
    assert tables.load(path).texts == [long, "short"]
    assert [text for text, _ in streaming.iter_records(files=[str(path)])] == [long, "short"]


def test_predict_reads_a_table_as_training_does(tmp_path):
    texts, names = imbalanced(3)
    path = write_csv(tmp_path / "mine.tsv", ["label", "sentence"], list(zip(names, texts)), delimiter="\t")
    records = list(streaming.iter_records(files=[str(path)]))
    assert [text for text, _ in records] == tables.load(path).texts == texts
    assert records[0][1] == [names[0], texts[0]]


# Class folders and archives --------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 20])
def test_class_folders_of_n_classes(tmp_path, n):
    files = {f"{name}/{i}.txt": f"{name} {i}" for k, name in enumerate(class_names(n)) for i in range(k + 2)}
    files[f"{class_names(n)[0]}/10.txt"] = "last of the first class"
    data = folders.read(write_files(tmp_path / "mine", files))
    assert data.class_names == tuple(class_names(n))
    assert data.counts() == {name: k + 2 + (k == 0) for k, name in enumerate(class_names(n))}
    assert data.texts[:4] == ["c00 0", "c00 1", "last of the first class", "c01 0"]  # by class, then file number
    assert [name for name in data.class_names for _ in range(data.counts()[name])] == \
        [data.class_names[k] for k in data.labels]
    assert folders.splits(tmp_path / "mine") == {None}
    assert folders.read(tmp_path / "mine", "test").texts == data.texts  # no splits: every split is all of it


def test_integer_class_folders_come_in_the_order_of_the_classes(tmp_path):
    root = write_files(tmp_path / "stars", {"10/a": "ten", "2/a": "two", "1/a": "one", "2/b": "two b"})
    data = folders.read(root)
    assert data.class_names == ("1", "2", "10")
    assert data.texts == ["one", "two", "two b", "ten"]
    assert data.labels.tolist() == [0, 1, 1, 2]


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_an_archive_of_split_folders(tmp_path, suffix):
    files = {}
    for split, count in (("news-train", 3), ("news-test", 2)):
        for name in ("sci.space", "rec.autos", "talk.politics"):
            for i in range(count):
                files[f"{split}/{name}/{100 - i}"] = f"{split} {name} {100 - i}"
    files["news-train/rec.autos/.DS_Store"] = b"\x00\x01"
    files["__MACOSX/news-train/._x"] = b"\x00"
    path = write_archive(tmp_path / f"news{suffix}", files)
    assert folders.is_archive(path) and sources.kind(path) == "folders"
    assert folders.splits(path) == {"train", "test"}
    train, test = folders.read(path, "train"), folders.read(path, "test")
    assert train.class_names == test.class_names == ("rec.autos", "sci.space", "talk.politics")
    assert (train.counts(), test.counts()) == (dict.fromkeys(train.class_names, 3), dict.fromkeys(test.class_names, 2))
    assert test.texts[:2] == ["news-test rec.autos 99", "news-test rec.autos 100"]
    with pytest.raises(UserError) as error:
        folders.read(path, "validation")
    assert one_sentence(error) == f"{path} has no validation split; its splits are test, train."


def test_a_lone_split_folder_is_a_split(tmp_path):
    path = write_archive(tmp_path / "only.tar.gz", {"data/train/a/1": "a", "data/train/b/1": "b"})
    assert folders.splits(path) == {"train"}
    assert folders.read(path, "train").texts == ["a", "b"]
    with pytest.raises(UserError, match="has no test split; its splits are train."):
        folders.read(path, "test")


def test_unlabeled_folders_hold_texts_without_a_class(tmp_path):
    root = write_files(tmp_path / "mine", {"train/a/1": "a", "train/b/1": "b", "train/unsup/2": "u2",
                                           "train/unsup/1": "u1", "train/unsup/10": "u10", "test/a/1": "ta",
                                           "test/b/1": "tb"})
    train = folders.read(root, "train")
    assert (train.texts, train.class_names) == (["a", "b"], ("a", "b"))
    unsup = folders.read(root, "unsup")
    assert (unsup.texts, unsup.labels.tolist(), unsup.class_names) == (["u1", "u2", "u10"], [UNLABELED] * 3, ())
    assert sources.unlabeled(Config(data=str(root))).texts == ["u1", "u2", "u10"]
    assert set(sources.unlabeled(Config(data=str(root), limit=2)).texts) < {"u1", "u2", "u10"}
    assert len(sources.unlabeled(Config(data=str(root), limit=2))) == 2
    assert sources.unlabeled(Config(data=str(write_files(tmp_path / "bare", {"a/1": "a", "b/1": "b"})))) is None


def test_files_beside_class_folders_are_one_sentence(tmp_path):
    root = write_files(tmp_path / "mine", {"a/1.txt": "a", "b/1.txt": "b", "notes.txt": "not a text"})
    with pytest.raises(UserError) as error:
        folders.read(root)
    assert one_sentence(error) == (f"{root} mixes files and folders (notes.txt); each text should be a file in "
                                   "its class's folder.")
    assert folders.read(root, strict=False).texts == ["a", "b"]


def test_a_folder_without_class_folders_is_one_sentence(tmp_path):
    root = write_files(tmp_path / "flat", {"1.txt": "a", "2.txt": "b"})
    with pytest.raises(UserError, match=re.escape(f"{root} holds files but no class folders")) as error:
        folders.read(root)
    one_sentence(error)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty holds no files") as error:
        folders.read(tmp_path / "empty")
    one_sentence(error)
    deep = write_files(tmp_path / "deep", {"a/2020/1.txt": "a", "b/2020/1.txt": "b"})
    with pytest.raises(UserError, match=r"deep holds a/, which is neither a class folder of texts nor a split"):
        folders.read(deep)


def test_undecodable_files_are_counted_in_one_warning(tmp_path):
    root = write_files(tmp_path / "mine", {"a/1": b"ok", "a/2": b"bad \xff", "b/1": b"\xfe worse", "b/2": "Été"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = folders.read(root, "train")
    assert [str(w.message) for w in caught] == [
        f"2 text(s) of {root} (train) were not valid UTF-8; invalid bytes were replaced with U+FFFD."]
    assert data.texts == ["ok", "bad \ufffd", "\ufffd worse", "Été"]


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_a_corrupt_archive_is_one_sentence(tmp_path, suffix):
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(b"PK\x03\x04 not really" if suffix == ".zip" else b"\x1f\x8b" + b"x" * 100)
    with pytest.raises(UserError, match=f"broken{suffix} is not a readable archive of class folders") as error:
        folders.read(path)
    one_sentence(error)


# Sources ---------------------------------------------------------------------------------


def test_kind_of_a_data_path(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("a text\n")
    assert [sources.kind(p) for p in (None, "aclImdb_v1.tar.gz", tmp_path / "a.CSV", "b.ndjson",
                                      tmp_path / "folder", "x.tgz", "x.zip")] == \
        ["imdb", "imdb", "table", "table", "folders", "folders", "folders"]
    with pytest.raises(UserError, match="notes.txt is not a table") as error:
        sources.kind(tmp_path / "notes.txt")
    one_sentence(error)


def test_check_a_missing_path_or_column_without_tensorflow(tmp_path):
    table = write_csv(tmp_path / "mine.csv", ["id", "body"], [[1, "good"]])
    code = f"""
import sys
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import sources
for path, kwargs in [({str(tmp_path / 'gone.csv')!r}, {{}}), ({str(table)!r}, {{}}),
                     ({str(table)!r}, {{"text_column": "review", "labeled": False}})]:
    try:
        sources.check(path, **kwargs)
    except UserError as error:
        print(error)
sources.check({str(table)!r}, labeled=False)
sources.check({str(table)!r}, label_column="id")
print(sorted(name for name in ("tensorflow", "keras", "sklearn") if name in sys.modules))
"""
    said = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert said.stdout.splitlines() == [
        f"The data path {tmp_path / 'gone.csv'} does not exist.",
        f"The table {table} has no label column (one named label, labels, class, category ...); its columns are "
        "'id', 'body': name one with --label-column.",
        f"The table {table} has no text column 'review'; its columns are 'id', 'body'.",
        "[]",
    ]


def train_and_val_tables(tmp_path, val_names):
    names = ["a"] * 12 + ["b"] * 8 + ["c"] * 4
    train = write_csv(tmp_path / "train.csv", ["text", "label"], [[f"t{i}", n] for i, n in enumerate(names)])
    val = write_csv(tmp_path / "val.csv", ["text", "label"], [[f"v{i}", n] for i, n in enumerate(val_names)])
    return str(train), str(val)


def test_training_data_splits_off_validation_or_reads_val_data(tmp_path):
    train_path, val_path = train_and_val_tables(tmp_path, ["c", "a", "a"])
    train, validation = sources.training_data(Config(data=train_path, val_fraction=0.25))
    assert (train.counts(), validation.counts()) == ({"a": 9, "b": 6, "c": 3}, {"a": 3, "b": 2, "c": 1})
    assert set(train.texts).isdisjoint(validation.texts)
    assert sources.training_data(Config(data=train_path, val_fraction=0.25))[1].texts == validation.texts
    assert sources.training_data(Config(data=train_path, val_fraction=0))[1] is None
    train, validation = sources.training_data(Config(data=train_path, val_data=val_path))
    assert len(train) == 24 and validation.class_names == train.class_names == ("a", "b", "c")
    assert (validation.texts, validation.labels.tolist()) == (["v0", "v1", "v2"], [2, 0, 0])
    limited, _ = sources.training_data(Config(data=train_path, val_data=val_path, limit=9))
    assert limited.counts() == {"a": 3, "b": 3, "c": 3}
    assert sources.held_out(Config(data=train_path, val_data=val_path), "validation").texts == ["v0", "v1", "v2"]


def test_val_data_of_an_unknown_class_is_one_sentence(tmp_path):
    train_path, val_path = train_and_val_tables(tmp_path, ["a", "zebra", "zebra"])
    with pytest.raises(UserError) as error:
        sources.training_data(Config(data=train_path, val_data=val_path))
    assert one_sentence(error) == (f"The validation data {val_path} has 2 text(s) of the class 'zebra', which the "
                                   "training data does not have (its classes: a, b, c).")


def test_a_single_class_is_one_sentence(tmp_path):
    path = write_csv(tmp_path / "one.csv", ["text", "label"], [["a", "spam"], ["b", "spam"], ["c", "spam"]])
    with pytest.raises(UserError) as error:
        sources.training_data(Config(data=str(path)))
    assert one_sentence(error) == (f"The training data {path} holds one class, 'spam'; a classifier needs texts "
                                   "of at least two.")


def test_training_and_test_splits_of_an_archive(tmp_path):
    files = {f"{split}/{name}/{i}": f"{split} {name} {i}" for split in ("train", "test", "dev")
             for name in ("x", "y", "z") for i in range(4)}
    path = str(write_archive(tmp_path / "mine.zip", files))
    train, validation = sources.training_data(Config(data=path, val_data=path))
    assert {text.split()[0] for text in train.texts} == {"train"} and len(train) == 12
    assert {text.split()[0] for text in validation.texts} == {"dev"} and len(validation) == 12
    test = sources.held_out(Config(data=path), "test")
    assert {text.split()[0] for text in test.texts} == {"test"} and test.class_names == ("x", "y", "z")


def test_read_unlabeled_texts(tmp_path):
    folder = write_files(tmp_path / "texts", {"b.txt": "second", "a.txt": "first", ".git/x": "hidden", "s/c": "third"})
    assert sources.read_unlabeled(folder).texts == ["first", "second", "third"]
    lines = tmp_path / "lines.txt"
    lines.write_text("one\n\ntwo\n")
    assert sources.read_unlabeled(lines).texts == ["one", "two"]
    table = write_csv(tmp_path / "u.csv", ["id", "comment"], [[1, "c1"], [2, "c2"]])
    assert sources.read_unlabeled(table).labels.tolist() == [UNLABELED, UNLABELED]
    assert sources.read_unlabeled(table).texts == ["c1", "c2"]
    with pytest.raises(UserError, match="has no text column 'body'"):
        sources.check_unlabeled(table, "body")
    with pytest.raises(UserError, match="gone does not exist"):
        sources.check_unlabeled(tmp_path / "gone")


# The shared data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def news():
    """`(train, test)` of the shared 20 Newsgroups archive, read once, or a skip."""
    if not NEWS.is_file():
        pytest.skip(f"the 20 Newsgroups archive is not at {NEWS}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few messages are not UTF-8
        return folders.read(NEWS, "train"), folders.read(NEWS, "test")


@pytest.fixture(scope="module")
def trec():
    if not TREC.is_file():
        pytest.skip(f"the TREC table is not at {TREC}")
    return TREC


def test_20_newsgroups_archive(news):
    train, test = news
    assert (len(train), len(test)) == (11_314, 7_532)
    assert train.num_classes == 20 and train.class_names == test.class_names
    assert train.class_names[0] == "alt.atheism" and train.class_names[-1] == "talk.religion.misc"
    assert all(251 <= n <= 600 for n in train.counts().values())
    assert train.texts[0].startswith("From:") and set(train.labels.tolist()) == set(range(20))
    assert folders.splits(NEWS) == {"train", "test"}


def test_20_newsgroups_slices(news):
    train, _ = news
    subset = balanced_subset(train, 400, seed=0)
    assert subset.counts() == dict.fromkeys(train.class_names, 20)
    fit, validation = split_validation(subset, 0.1, seed=0)
    assert validation.counts() == dict.fromkeys(train.class_names, 2)
    assert len(fit) == 360 and set(fit.texts).isdisjoint(validation.texts)


def test_trec_table(trec):
    header = tables.header(trec)
    assert header == ["question", "label", "fine_label"]
    assert (tables.column(header, None, tables.TEXT_COLUMNS, trec, "text"),
            tables.column(header, None, tables.LABEL_COLUMNS, trec, "label")) == (0, 1)
    data = tables.load(trec)
    assert len(data) == 5_452
    assert data.class_names == ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
    assert data.counts() == {"ABBR": 86, "DESC": 1_162, "ENTY": 1_250, "HUM": 1_223, "LOC": 835, "NUM": 896}
    assert (data.texts[0], data.class_names[data.labels[0]]) == (
        "How did serfdom develop in and then leave Russia ?", "DESC")
    assert tables.load(trec, label_column="fine_label").num_classes > 6


def test_trec_training_slice(trec):
    train, validation = sources.training_data(Config(data=str(trec), limit=600, val_fraction=0.1))
    assert (train.class_names, validation.class_names) == (("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"),) * 2
    both = {name: train.counts()[name] + validation.counts()[name] for name in train.class_names}
    assert both == {"ABBR": 86, "DESC": 102, "ENTY": 102, "HUM": 102, "LOC": 102, "NUM": 102}
    assert validation.counts()["ABBR"] in (8, 9) and len(validation) == 60


def test_a_relative_data_path_is_found_in_the_local_data_folders(tmp_path, monkeypatch):
    """`sources.locate`: as given when it exists here; else the copy in ../shared/data/
    or data/ beside the repository; else as given, for its check to name."""
    from sentiment_lstm.data import imdb, sources

    repo = tmp_path / "repo"
    (tmp_path / "shared" / "data" / "trec").mkdir(parents=True)
    (repo / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "trec" / "train.csv").write_text("text,label\na,b\n")
    (repo / "data" / "mine.csv").write_text("text,label\na,b\n")
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "mine.csv").write_text("text,label\nc,d\n")
    monkeypatch.setattr(imdb, "REPO_ROOT", repo)
    monkeypatch.chdir(tmp_path / "here")
    assert sources.locate("trec/train.csv") == str((tmp_path / "shared" / "data" / "trec" / "train.csv").resolve())
    assert sources.locate("mine.csv") == "mine.csv"  # the working directory's copy comes first
    (tmp_path / "here" / "mine.csv").unlink()
    assert sources.locate("mine.csv") == str((repo / "data" / "mine.csv").resolve())
    assert sources.locate("no/such.csv") == "no/such.csv" and sources.locate(None) is None
    with pytest.raises(UserError, match="The data path no/such.csv does not exist."):
        sources.check(sources.locate("no/such.csv"))
