"""The IMDB movie reviews (Maas et al. 2011), the default data: where a copy is, and its splits.

Reviews come from the official `aclImdb_v1.tar.gz` (read in one streaming pass, never
extracted), from its extracted `aclImdb/` folder, or from TensorFlow Datasets'
`imdb_reviews` when there is no local copy. Its layout is class folders in split
folders (`folders.py`): `train/neg`, `train/pos`, `test/neg`, `test/pos`, and the
50,000 unlabeled reviews of `train/unsup`; the classes are "negative" and "positive".
"""
from pathlib import Path

import numpy as np

from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import folders
from sentiment_lstm.data.dataset import Dataset, balanced_subset

CLASS_NAMES = ("negative", "positive")  # class index 0, 1
FOLDER_CLASSES = {"neg": "negative", "pos": "positive"}
SPLITS = ("train", "test", "unsup")

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_COPIES = ("../shared/data/aclImdb_v1.tar.gz", "data/aclImdb_v1.tar.gz", "data/aclImdb")
TFDS_DIR = REPO_ROOT / "data" / "tfds"
_TFDS_SPLITS = {"train": "train", "test": "test", "unsup": "unsupervised"}


def is_imdb(path):
    """Whether `path` is a copy of IMDB, by name: an `aclImdb*` archive or folder, or a
    folder that holds `aclImdb/`."""
    path = Path(path).expanduser()
    return path.name.lower().startswith("aclimdb") or (path.is_dir() and (path / "aclImdb").is_dir())


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
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"The IMDB data path {path} does not exist.")
    return _as_source(path)


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
    raise UserError(f"{path} is neither an aclImdb/ folder (with train/ and test/) nor a folder that contains one.")


def load_reviews(source, split, limit=None, seed=0):
    """Reviews of one split, in a deterministic order (by class, then review id).

    Args:
        source: what `resolve_source` returned: an archive, an `aclImdb/` folder or "tfds".
        split: "train", "test" or "unsup" (the unlabeled `train/unsup/` reviews).
        limit: if given, at most that many reviews, as balanced over the two classes as
            they allow (`limit` for "unsup"), drawn without replacement with `seed`
            (`dataset.balanced_subset`).
        seed: seed of the `limit` draw.

    Returns:
        A `Dataset` of the classes "negative" and "positive" (none for "unsup"). Files that
        are not valid UTF-8 are decoded with replacement characters and reported in one warning.

    Raises:
        UserError: bad split, unreadable or corrupt source, missing split, or a failed
            TFDS download.
    """
    if split not in SPLITS:
        raise UserError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    if source == "tfds":
        reviews = _read_tfds(split)
    else:
        reviews = folders.read(source, split, rename=FOLDER_CLASSES, strict=False)
        missing = [folder for folder, name in FOLDER_CLASSES.items() if name not in reviews.class_names]
        if split != "unsup" and (missing or reviews.class_names != CLASS_NAMES):
            what = f"no {split}/{missing[0]}/ folder" if missing else f"folders other than neg/ and pos/ in {split}/"
            raise UserError(f"{source} has {what}, so it is not an aclImdb/ layout.")
    return reviews if limit is None else balanced_subset(reviews, limit, seed)


def _read_tfds(split):
    """`Dataset` of `split` from TFDS `imdb_reviews`, downloaded once into `data/tfds/`."""
    try:
        import tensorflow_datasets as tfds

        dataset = tfds.load("imdb_reviews", split=_TFDS_SPLITS[split], as_supervised=True, data_dir=str(TFDS_DIR))
        pairs = list(dataset.as_numpy_iterator())
    except Exception as exc:
        raise UserError(
            "No local copy of IMDB was found and downloading it with TensorFlow Datasets failed "
            f"({type(exc).__name__}); pass --data PATH to aclImdb_v1.tar.gz or an aclImdb/ folder."
        ) from exc
    texts = [text.decode("utf-8", errors="replace") for text, _ in pairs]
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    if split == "unsup":
        return Dataset.unlabeled(texts, source="tfds:imdb_reviews")
    return Dataset(texts, labels, CLASS_NAMES, source="tfds:imdb_reviews")
