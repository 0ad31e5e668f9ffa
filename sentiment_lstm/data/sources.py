"""What a data path is, and the texts of a run: for training, for validation, without
labels (for a teacher), and held out.

A data path (`--data`, `--val-data`, `evaluate --data`) is one of

    nothing               IMDB, a local copy found on its own (`imdb.resolve_source`)
    aclImdb*              a copy of IMDB: its archive, its `aclImdb/` folder (`imdb.py`)
    F.csv, F.tsv, F.jsonl a table of texts and labels (`tables.py`)
    folder, F.tar.gz      class folders, perhaps in split folders (`folders.py`)

and each reads as a `Dataset`. An archive or folder that holds splits gives training
its train split and evaluation its test split; a table, or class folders without
splits, is the split it is given for. A relative path that is not found from the
working directory is looked for in the local data folders, as IMDB's copy is
(`locate`: `../shared/data/` and `data/` beside the repository, then under the working
directory), so a recipe can name `20news-bydate.tar.gz`. Nothing here loads
TensorFlow: the commands call `check` on every path before it loads.
"""
import dataclasses
from pathlib import Path

from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import folders, imdb, tables
from sentiment_lstm.data.dataset import Dataset, balanced_subset, split_validation


DATA_FOLDERS = ("../shared/data", "data")  # where local copies of data sets are looked for


def locate(path):
    """`path` as given when it exists, is absolute or is None; else the first copy of it
    in `DATA_FOLDERS` beside the repository, then under the working directory (as a
    resolved string); else `path` as given (whose check then says it does not exist)."""
    if path is None or Path(path).expanduser().exists() or Path(path).expanduser().is_absolute():
        return path
    bases = dict.fromkeys([imdb.REPO_ROOT, Path.cwd().resolve()])
    found = next((base / folder / path for base in bases for folder in DATA_FOLDERS
                  if (base / folder / path).exists()), None)
    return str(found.resolve()) if found is not None else path


def kind(path):
    """`"imdb"`, `"table"` or `"folders"`: how the data path `path` is read (None: IMDB).

    Raises:
        UserError: it is none of them.
    """
    if path is None or imdb.is_imdb(path):
        return "imdb"
    if tables.kind(path):
        return "table"
    if Path(path).expanduser().is_dir() or folders.is_archive(path):
        return "folders"
    raise UserError(f"{path} is not a table (.csv, .tsv, .jsonl), a folder of class folders, or an archive of "
                    "one (.tar.gz, .tgz, .zip).")


def check(path, text_column=None, label_column=None, labeled=True):
    """Check, cheaply, that the data path `path` exists and is something `load` reads (a
    table's columns included).

    Raises:
        UserError: in one sentence naming `path`.
    """
    if path is None:
        return
    if not Path(path).expanduser().exists():
        raise UserError(f"The data path {path} does not exist.")
    if kind(path) == "table":
        tables.check(path, text_column, (label_column or True) if labeled else None)


def load(path, split, text_column=None, label_column=None):
    """The labeled texts of `split` ("train", "test", "validation") of the data at `path`.

    Raises:
        UserError: unreadable data, or no such split.
    """
    what = kind(path)
    if what == "imdb":
        if split == "validation":
            raise UserError("IMDB holds no validation split (only train/ and test/); validate on a share of its "
                            "training reviews (--val-fraction) instead.")
        return imdb.load_reviews(imdb.resolve_source(path), "test" if split == "test" else "train")
    if what == "table":
        return tables.load(path, text_column, label_column)
    return folders.read(path, split)


def training_data(config):
    """`(train, validation)`: the training texts of `config.data` (at most `config.limit`,
    balanced) less the seeded validation split a run with these settings holds out
    (`split_validation`), or with `config.val_data`, those; validation is None with
    `val_fraction` 0 and no `val_data`. Training and every script that scores a model
    on "its" validation texts take them here, so they are the same texts.

    Raises:
        UserError: unreadable data, a single class, or validation texts of a class the
            training texts do not have.
    """
    train = load(config.data, "train", config.text_column, config.label_column)
    if config.limit is not None:
        train = balanced_subset(train, config.limit, config.seed)
    if train.num_classes < 2:
        only = f", {train.class_names[0]!r}" if train.class_names else ""
        raise UserError(f"The training data {train.source} holds one class{only}; a classifier needs texts "
                        "of at least two.")
    if config.val_data is not None:
        validation = aligned(load(config.val_data, "validation", config.text_column, config.label_column),
                             train.class_names, "validation")
        return train, validation
    if not config.val_fraction:
        return train, None
    return split_validation(train, config.val_fraction, seed=config.seed)


def aligned(data, class_names, what):
    """`data` labelled by `class_names` (`Dataset.with_classes`).

    Raises:
        UserError: it has a class that `class_names` has not, named.
    """
    data, unknown = data.with_classes(class_names)
    if unknown:
        name, count = next(iter(unknown.items()))
        raise UserError(f"The {what} data {data.source} has {count} text(s) of the class {name!r}, which the "
                        f"training data does not have (its classes: {', '.join(class_names)}).")
    return data


NO_UNLABELED = "none"  # `--unlabeled none`: no unlabeled texts, even where the data holds some


def unlabeled(config):
    """The texts without labels a run of `config` may learn from (a teacher's, pretrained
    vectors'): `config.unlabeled`, else those its data holds (IMDB's `unsup`), else None
    (and None when `config.unlabeled` is "none"); at most `config.limit` of them."""
    if config.unlabeled == NO_UNLABELED:
        return None
    if config.unlabeled is not None:
        texts = read_unlabeled(config.unlabeled, config.text_column)
    elif kind(config.data) == "imdb":
        texts = imdb.load_reviews(imdb.resolve_source(config.data), "unsup")
    elif kind(config.data) == "folders":
        try:  # the training texts were read from it: what fails here is that it has no unsup/ folder
            texts = folders.read(config.data, "unsup")
        except UserError:
            return None
    else:
        return None
    return texts if config.limit is None else balanced_subset(texts, config.limit, config.seed)


def read_unlabeled(path, text_column=None):
    """Texts without labels: every file of a folder (one text each), the text column of a
    table or JSON lines, or the lines of any other file (one text each).

    Raises:
        UserError: a missing path, or no texts in it.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"The unlabeled texts' path {path} does not exist.")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*")
                       if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
        texts = [p.read_bytes().decode("utf-8", errors="replace") for p in files]
    elif tables.kind(path):
        texts = tables.load_texts(path, text_column)
    else:
        texts = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    if not texts:
        raise UserError(f"There are no texts in {path}.")
    return Dataset.unlabeled(texts, source=str(path))


def check_unlabeled(path, text_column=None):
    """Check, cheaply, that `read_unlabeled` can read `path` (a table's text column included).

    Raises:
        UserError: in one sentence naming `path`.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"The unlabeled texts' path {path} does not exist.")
    if tables.kind(path):
        tables.check(path, text_column)


def held_out(config, split, path=None):
    """The labeled texts a model trained with `config` did not see: the test split of its
    data, or (`split` "validation") the validation texts its run held out; `path` is that
    data found elsewhere (IMDB's archive on another machine, say).

    Raises:
        UserError: "validation" for a model trained without one (`--val-fraction 0`).
    """
    if path is not None:
        config = dataclasses.replace(config, data=str(path))
    if split == "test":
        return load(config.data, "test", config.text_column, config.label_column)
    if not config.validates:
        raise UserError("The model was trained without a validation split (--val-fraction 0); "
                        "score it on the test split instead.")
    return training_data(config)[1]
