"""Shared fixtures: tiny IMDB-layout folders and archives built in a temporary directory."""
import io
import random
import tarfile
from pathlib import Path

import pytest

REAL_ARCHIVE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "aclImdb_v1.tar.gz"

# (split folder, class folder, file name) -> content; written as aclImdb/<split>/<class>/<name>.
TINY_IMDB = {
    ("train", "pos", "10_9.txt"): "A joy.<br /><br />Été magnifique 😀".encode(),
    ("train", "pos", "2_8.txt"): b"Great film!",
    ("train", "neg", "3_1.txt"): b"Dull\xff\xfe plot.",
    ("train", "neg", "1_2.txt"): b"Awful<br />acting.",
    ("train", "unsup", "5_0.txt"): b"No stars given.",
    ("test", "pos", "0_10.txt"): b"Loved it.",
    ("test", "neg", "0_1.txt"): b"Hated it.",
}


def write_imdb_folder(root, files):
    """Write `files` (see TINY_IMDB) under `root/aclImdb/`; return that aclImdb folder."""
    top = Path(root) / "aclImdb"
    for (split, label, name), content in files.items():
        folder = top / split / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return top


def write_imdb_archive(path, files, seed=0):
    """Write `files` (see TINY_IMDB) as a .tar.gz with aclImdb/ members in shuffled order."""
    items = list(files.items())
    random.Random(seed).shuffle(items)
    with tarfile.open(path, "w:gz") as archive:
        for (split, label, name), content in items:
            member = tarfile.TarInfo(f"aclImdb/{split}/{label}/{name}")
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return Path(path)


@pytest.fixture
def write_imdb(tmp_path):
    """A function `(files, archive=False, name="imdb")` that writes an IMDB copy under
    `tmp_path/name` and returns its aclImdb/ folder, or its .tar.gz when `archive`."""

    def write(files, archive=False, name="imdb"):
        root = tmp_path / name
        root.mkdir()
        if archive:
            return write_imdb_archive(root / "aclImdb_v1.tar.gz", files)
        return write_imdb_folder(root, files)

    return write


@pytest.fixture
def imdb_folder(write_imdb):
    """An extracted aclImdb/ folder with TINY_IMDB."""
    return write_imdb(TINY_IMDB, name="folder")


@pytest.fixture
def imdb_archive(write_imdb):
    """An aclImdb-style .tar.gz with TINY_IMDB."""
    return write_imdb(TINY_IMDB, archive=True, name="archive")


@pytest.fixture
def real_archive():
    """The shared IMDB archive, or a skip when this machine has no copy."""
    if not REAL_ARCHIVE.is_file():
        pytest.skip(f"the IMDB archive is not at {REAL_ARCHIVE}")
    return REAL_ARCHIVE.resolve()


TEXTS = ["a good good film", "a bad bad film", "good acting", "bad plot, bad acting!"]


def tiny_end_to_end(texts=TEXTS, max_length=5, num_classes=2):
    """An untrained end-to-end model (4 units, 8-d embedding, no dropout, `num_classes`
    outputs) over a vocabulary adapted on `texts`, reading `max_length` tokens; and its `Config`."""
    from sentiment_lstm.core.config import Config
    from sentiment_lstm.model import network
    from sentiment_lstm.text import tokenizer

    vectorizer = tokenizer.make_vectorizer(texts, max_tokens=20)
    tiny = Config(units=4, embed_dim=8, dense_dropout=0.0, embedding_dropout=0.0)
    token_model = network.build_token_model(vectorizer.vocabulary_size(), tiny, num_classes=num_classes)
    return network.build_end_to_end(token_model, vectorizer, max_length=max_length), tiny


def publish_tiny(directory, texts=TEXTS, max_length=5, labels=("negative", "positive")):
    """`tiny_end_to_end` published as a model directory at `directory`, its classes
    `labels`; returns it."""
    from sentiment_lstm.export import publish
    from sentiment_lstm.model import network

    end_to_end, tiny = tiny_end_to_end(texts, max_length, len(labels))
    publish.publish_model(directory, end_to_end, tiny, network.parts(end_to_end)[1].vocabulary_size(),
                          tuple(labels))
    return directory


@pytest.fixture(scope="module")
def end_to_end():
    """`tiny_end_to_end()`: over TEXTS, reading 5 tokens."""
    return tiny_end_to_end()[0]


@pytest.fixture
def recurrence_runs(monkeypatch):
    """Counts, as the graph runs (not as it is traced: a `tf.cond` traces both branches),
    the calls of the compiled LSTM path and of packed inference: `{"compiled": n, "packed": n}`
    (a `tf.py_function` counts, not a variable: a variable's update inside a `tf.cond`
    branch would break the cond's gradient)."""
    import tensorflow as tf

    from sentiment_lstm.rnn import compiled, packed

    counts = {"compiled": 0, "packed": 0}
    originals = {"compiled": compiled.compiled_last_states, "packed": packed.lstm_inference}

    def counting(name):
        def count():
            counts[name] += 1
            return 0

        def counted(cell, x, *args, **kwargs):
            with tf.control_dependencies([tf.py_function(count, [], tf.int32)]):
                x = tf.identity(x)
            return originals[name](cell, x, *args, **kwargs)

        return counted

    monkeypatch.setattr(compiled, "compiled_last_states", counting("compiled"))
    monkeypatch.setattr(packed, "lstm_inference", counting("packed"))
    return counts
