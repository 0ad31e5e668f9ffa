"""Labeled texts from a folder of class folders, or an archive of one: one subfolder per
class, one text per file (any name, with or without a `.txt` suffix), the class's name
the folder's, as Keras' `text_dataset_from_directory` and fastai's `from_folder` read them.

    my_data/                         my_data.tar.gz (or .tgz, .tar, .zip) of the same
      billing/  1.txt 2.txt ...
      shipping/ a b c ...

A layout may also hold its splits, each a folder of class folders, named `train`,
`test` and `validation` (or `val`, `valid`, `dev`), or ending in `-train`, `_test`
and so on, as 20 Newsgroups' `20news-bydate-train/` and `-test/` do:

    20news-bydate.tar.gz: 20news-bydate-train/<class>/<id>, 20news-bydate-test/<class>/<id>

A folder that holds nothing but one folder (`aclImdb/`, say) is looked through, unless
that folder is a split (an archive of `train/` alone holds a train split). A class
folder named `unsup` or `unlabeled` holds texts without a class (IMDB's 50,000
unlabeled reviews in `train/unsup/`): the split "unsup". Hidden files (`.DS_Store`) are
skipped. Texts are decoded as UTF-8, invalid bytes replaced and counted in one warning;
they come in order of class (that of `Dataset.class_names`), then of file name (numbers
as numbers: `9_9.txt` before `10_9.txt`).

Archives are read in one streaming pass, never extracted, and kept in memory for the
next split asked of the same file (training reads train/ then unsup/).

Example:

>>> data = read("../shared/data/20news-bydate.tar.gz", "train")
>>> len(data), data.num_classes
(11314, 20)
"""
import functools
import re
import tarfile
import warnings
import zipfile
import zlib
from collections import defaultdict
from pathlib import Path, PurePosixPath

from sentiment_lstm.core import progress
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import Dataset, sort_class_names

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".zip")
SPLIT_NAMES = {"train": "train", "training": "train", "test": "test", "testing": "test",
               "validation": "validation", "val": "validation", "valid": "validation", "dev": "validation"}
UNLABELED_FOLDERS = ("unsup", "unlabeled")
_SPLIT_SUFFIX = re.compile(r"^(?:.*[-_.])?(?P<split>[a-z]+)$")
_LEADING_NUMBER = re.compile(r"^(\d*)")
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError)


def is_archive(path):
    """Whether `path` is read as an archive of class folders (by its name)."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def splits(path, rename=None, strict=True):
    """The splits the folder or archive `path` holds: `{"train", "test", ...}`, or `{None}`
    for a layout of class folders alone (one split: everything)."""
    return set(_layout(path, rename, strict))


def read(path, split=None, rename=None, strict=True):
    """The texts of one split of the folder or archive `path`.

    Args:
        path: a folder of class folders (or of split folders of class folders), or an
            archive of one.
        split: "train", "test", "validation" or "unsup" (the unlabeled folders of the
            training split). A layout without split folders gives all of its labeled texts
            for any split but "unsup".
        rename: `{folder name: class name}` for folders whose class has another name
            (IMDB's `neg` and `pos`).
        strict: refuse files beside class folders; else skip them (the official IMDB
            archive's `labeledBow.feat`, `urls_pos.txt` ...).

    Returns:
        A `Dataset`, its classes the class folders' names (renamed), sorted
        (`sort_class_names`); for "unsup", unlabeled texts without classes.

    Raises:
        UserError: a missing or unreadable path, a layout that is not class folders, no
            such split, or no texts.
    """
    layout = _layout(path, rename, strict)
    if split == "unsup":
        files = {None: layout.get("train", layout.get(None, {})).get(None, [])}
    elif None in layout or split in layout:
        files = {name: entries for name, entries in layout[None if None in layout else split].items()
                 if name is not None}
    else:
        held = ", ".join(sorted(layout))
        raise UserError(f"{path} holds the splits {held}; name one of them." if split is None
                        else f"{path} has no {split} split; its splits are {held}.")
    if not any(files.values()):
        what = "unlabeled texts (an unsup/ folder)" if split == "unsup" else "texts in class folders"
        where = "" if split in (None, "unsup") or None in layout else f" ({split} split)"
        raise UserError(f"No {what} were found in {path}{where}.")
    classes = sort_class_names(name for name in files if name is not None)
    texts, names, undecodable = [], [], 0
    for name in (None, *classes) if None in files else classes:
        for _, content in sorted(files[name], key=lambda entry: _file_order(entry[0])):
            raw = content if isinstance(content, bytes) else content.read_bytes()
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(raw.decode("utf-8", errors="replace"))
                undecodable += 1
            names.append(name)
    if undecodable:
        warnings.warn(f"{undecodable} text(s) of {path}{'' if split is None else f' ({split})'} were not valid "
                      "UTF-8; invalid bytes were replaced with U+FFFD.", stacklevel=2)
    return Dataset.from_names(texts, names, source=str(path))


def _file_order(name):
    """Sort key of a file name: its leading number (-1 without one), then the name."""
    digits = _LEADING_NUMBER.match(name).group(1)
    return (int(digits) if digits else -1, name)


def _layout(path, rename=None, strict=True):
    """`{split or None: {class name or None (unlabeled): [(file name, its bytes or its
    `Path`), ...]}}` of `path`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"The data path {path} does not exist.")
    if path.is_dir():
        files = _folder_files(path)
    else:
        stat = path.stat()
        files = _archive_files(path.resolve(), stat.st_size, stat.st_mtime_ns)
    return _arrange(files, path, rename or {}, strict)


def _folder_files(root):
    """`{relative parts: Path}` of the files under `root`, read when a split needs them."""
    files = {}
    for file in root.rglob("*"):
        parts = file.relative_to(root).parts
        if file.is_file() and not _hidden(parts):
            files[parts] = file
    return files


@functools.lru_cache(maxsize=2)
def _archive_files(path, size, mtime_ns):
    """`{relative parts: bytes}` of every file of the archive `path`, read in one streaming
    pass. Cached per (file, size, modification time)."""
    contents = {}
    print(f"Reading {path}", flush=True)
    bar = progress.Bar(size / 2**20, "MiB")  # of the archive read so far
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    if not member.is_dir():
                        contents[member.filename] = archive.read(member)
        else:
            with open(path, "rb") as file, tarfile.open(fileobj=file, mode="r:*") as archive:
                for member in archive:
                    if member.isfile():
                        contents[member.name] = archive.extractfile(member).read()
                    bar.update(file.tell() / 2**20)
        bar.update(size / 2**20)
    except _ARCHIVE_ERRORS as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(":")
        raise UserError(f"{path} is not a readable archive of class folders ({reason}).") from exc
    files = {}
    for name, content in contents.items():
        parts = PurePosixPath(name).parts
        parts = parts[1:] if parts[:1] == ("/",) else parts
        if parts and not _hidden(parts):
            files[parts] = content
    return files


def _hidden(parts):
    """Whether the file at relative `parts` is skipped: hidden (`.DS_Store`), or macOS's
    archive metadata (`__MACOSX/`)."""
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _arrange(files, path, rename, strict):
    """The layout of `files` (`_layout`): class folders, or split folders of class folders."""
    if not files:
        raise UserError(f"{path} holds no files; it should hold a folder of texts for each class.")
    while (len(tops := {parts[0] for parts in files}) == 1 and _split_of(next(iter(tops))) is None
           and any(len(parts) > 2 for parts in files)):
        files = {parts[1:]: content for parts, content in files.items()}  # one folder: look through
    depths = {len(parts) for parts in files}
    if depths == {1}:
        raise UserError(f"{path} holds files but no class folders; put the texts of each class in a "
                        "folder named after it.")
    layout = defaultdict(lambda: defaultdict(list))
    if max(depths) == 2:
        nested = None
    else:
        nested = {parts[0] for parts in files if len(parts) >= 3}
        unknown = [name for name in sorted(nested) if _split_of(name) is None]
        if unknown:
            raise UserError(f"{path} holds {unknown[0]}/, which is neither a class folder of texts nor a split "
                            "(train/, test/, validation/) of class folders.")
        deep = min((parts for parts in files if len(parts) > 3), default=None)
        if deep is not None:
            raise UserError(f"{path} holds {'/'.join(deep)}, a file below a class folder of a split; each text "
                            "should be a file in its class's folder.")
    for parts, content in files.items():
        if nested is None and len(parts) == 2:
            split, folder = None, parts[0]
        elif nested is not None and len(parts) == 3:
            split, folder = _split_of(parts[0]), parts[1]
        elif strict:
            raise UserError(f"{path} mixes files and folders ({'/'.join(parts)}); each text should be a "
                            "file in its class's folder.")
        else:
            continue
        name = None if folder in UNLABELED_FOLDERS else rename.get(folder, folder)
        layout[split][name].append((parts[-1], content))
    return layout


def _split_of(folder):
    """The split a folder's name says ("20news-bydate-test": "test"), or None."""
    match = _SPLIT_SUFFIX.match(folder.lower())
    return SPLIT_NAMES.get(match.group("split")) if match else None
