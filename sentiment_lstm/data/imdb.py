"""Step 1 of the pipeline: raw IMDB reviews and their labels.

Reviews come from the official `aclImdb_v1.tar.gz` (read in one streaming pass, never
extracted), from its extracted `aclImdb/` folder, from TensorFlow Datasets'
`imdb_reviews`, or from a user's CSV/TSV table. Every source yields the same `Reviews`.
"""
import functools
import re
import tarfile
import warnings
import zlib
from pathlib import Path

import numpy as np

from sentiment_lstm.core import paths, progress
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import UNLABELED, Reviews, _balanced_subset

LABELS = ("negative", "positive")  # class index 0, 1
SPLITS = ("train", "test", "unsup")

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_COPIES = ("../shared/data/aclImdb_v1.tar.gz", "data/aclImdb_v1.tar.gz", "data/aclImdb")
TFDS_DIR = REPO_ROOT / "data" / "tfds"

# split -> the aclImdb/ sub-folders that hold it, with their label.
_SPLIT_FOLDERS = {
    "train": (("train", "neg", 0), ("train", "pos", 1)),
    "test": (("test", "neg", 0), ("test", "pos", 1)),
    "unsup": (("train", "unsup", UNLABELED),),
}
_TFDS_SPLITS = {"train": "train", "test": "test", "unsup": "unsupervised"}
_REVIEW_NAME = re.compile(r"^(\d*).*\.txt$")  # official names: <id>_<stars>.txt
_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def resolve_source(path=None):
    """Where to read IMDB from.

    Args:
        path: an `aclImdb_v1.tar.gz`-style archive, an extracted `aclImdb/` folder, or the
            folder that contains `aclImdb/`. `None` picks the first local copy among
            `../shared/data/aclImdb_v1.tar.gz`, `data/aclImdb_v1.tar.gz` and `data/aclImdb/`
            (relative to the repository root, then to the working directory).

    Returns:
        A resolved `Path` (an archive file or an `aclImdb/` folder), or `"tfds"` when no
        path is given and no local copy exists.

    Raises:
        UserError: `path` does not exist or is a folder without the aclImdb layout.
    """
    if path is None:
        return next((_as_source(p) for p in _local_candidates() if p.exists()), "tfds")
    return _as_source(paths.existing_imdb(path))


def _local_candidates():
    """Paths where a local copy of IMDB may be, in order of preference."""
    bases = dict.fromkeys([REPO_ROOT, Path.cwd().resolve()])
    return [base / relative for relative in LOCAL_COPIES for base in bases]


def _as_source(path):
    """`path` resolved to an archive file or an `aclImdb/` folder."""
    path = path.resolve()
    if path.is_file():
        return path
    for folder in (path, path / "aclImdb"):
        if (folder / "train").is_dir() or (folder / "test").is_dir():
            return folder
    raise UserError(
        f"{path} is neither an aclImdb/ folder (with train/ and test/) "
        "nor a folder that contains one."
    )


def load_reviews(source, split, limit=None, seed=0):
    """Reviews of one split, in a deterministic order (by class, then review id).

    Args:
        source: what `resolve_source` returned: an archive, an `aclImdb/` folder or "tfds".
        split: "train", "test" or "unsup" (the unlabeled `train/unsup/` reviews).
        limit: if given, at most that many reviews, `limit // 2` of each class (`limit`
            for "unsup"), drawn without replacement with `seed`.
        seed: seed of the `limit` draw.

    Returns:
        A `Reviews`; labels are 0/1, or -1 for "unsup". Files that are not valid UTF-8 are
        decoded with replacement characters and reported in one warning.

    Raises:
        UserError: bad split or limit, unreadable or corrupt source, missing split, or a
            failed TFDS download.
    """
    if split not in SPLITS:
        raise UserError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    if source == "tfds":
        reviews, undecodable = _read_tfds(split), 0
    else:
        texts, labels, undecodable = _read_source(Path(source), split)
        reviews = Reviews(list(texts), labels.copy())
    if undecodable:
        warnings.warn(
            f"{undecodable} review(s) of the {split} split were not valid UTF-8; "
            "invalid bytes were replaced with U+FFFD.",
            stacklevel=2,
        )
    return reviews if limit is None else _balanced_subset(reviews, limit, seed)


def _read_source(path, split):
    if not path.exists():
        raise UserError(f"The IMDB data path {path} does not exist.")
    if path.is_dir():
        return _read_folder(path, split)
    stat = path.stat()
    return _read_archive(path, stat.st_size, stat.st_mtime_ns, split)


def _read_folder(root, split):
    """(texts, labels, undecodable count) of `split` from an extracted `aclImdb/` folder."""
    entries = []
    for parts in _SPLIT_FOLDERS[split]:
        folder = root.joinpath(*parts[:2])
        if not folder.is_dir():
            raise UserError(
                f"{root} has no {'/'.join(parts[:2])}/ folder, so it is not an aclImdb/ layout."
            )
        entries += [
            (parts, f.name, f.read_bytes())
            for f in folder.iterdir()
            if f.is_file() and _REVIEW_NAME.match(f.name)
        ]
    return _collect(entries, f"{root}/{split}")


@functools.lru_cache(maxsize=4)
def _read_archive(path, size, mtime_ns, split):
    """(texts, labels, undecodable count) of `split` from a tar archive, in one streaming pass.

    Cached per (file, size, modification time, split): train and test are often both read.
    """
    wanted = {parts[:2]: parts for parts in _SPLIT_FOLDERS[split]}
    entries = []
    print(f"Reading the {split} split of {path}", flush=True)
    bar = progress.Bar(size / 2**20, "MiB")  # of the archive read so far
    try:
        with open(path, "rb") as file, tarfile.open(fileobj=file, mode="r:*") as archive:
            for member in archive:
                parts = tuple(member.name.split("/"))[-3:]
                if member.isfile() and parts[:2] in wanted and _REVIEW_NAME.match(parts[2]):
                    content = archive.extractfile(member).read()
                    entries.append((wanted[parts[:2]], parts[2], content))
                bar.update(file.tell() / 2**20)
        bar.update(size / 2**20)
    except _ARCHIVE_ERRORS as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(":")
        raise UserError(
            f"{path} is not a readable tar archive of IMDB reviews ({reason})."
        ) from exc
    return _collect(entries, f"{path} (aclImdb/{split})")


def _collect(entries, where):
    """Decode and sort (folder parts, file name, bytes) entries into texts and labels."""
    if not entries:
        raise UserError(f"No reviews were found in {where}.")
    entries.sort(key=lambda e: (e[0][2], _review_id(e[1]), e[1]))
    texts, undecodable = [], 0
    for _, _, raw in entries:
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(raw.decode("utf-8", errors="replace"))
            undecodable += 1
    labels = np.array([e[0][2] for e in entries], dtype=np.int64)
    return tuple(texts), labels, undecodable


def _review_id(name):
    """The numeric id that starts an official review file name, else -1."""
    digits = _REVIEW_NAME.match(name).group(1)
    return int(digits) if digits else -1


def _read_tfds(split):
    """`Reviews` of `split` from TFDS `imdb_reviews`, downloaded once into `data/tfds/`."""
    try:
        import tensorflow_datasets as tfds

        dataset = tfds.load(
            "imdb_reviews", split=_TFDS_SPLITS[split], as_supervised=True, data_dir=str(TFDS_DIR)
        )
        pairs = list(dataset.as_numpy_iterator())
    except Exception as exc:
        raise UserError(
            "No local copy of IMDB was found and downloading it with TensorFlow Datasets failed "
            f"({type(exc).__name__}); pass --data PATH to aclImdb_v1.tar.gz or an aclImdb/ folder."
        ) from exc
    texts = [text.decode("utf-8", errors="replace") for text, _ in pairs]
    return Reviews(texts, np.array([label for _, label in pairs], dtype=np.int64))
