"""Split a data set of numbered message files (20 Newsgroups) by time: the latest messages of each class validate.

    python scripts/later_split.py --out runs/20news_later [--data 20news-bydate.tar.gz] [--fraction 0.1] [--tfidf]
    python train.py --recipe 20news --data runs/20news_later/train --val-data runs/20news_later/validation

20 Newsgroups' test split ("bydate") holds messages written after every training one, and
a model validated on a random tenth of the training messages is told too little of what
that costs (our LSTM: 91% on such a split, 81% on test). Its files are named by article
number, which grows with time in each newsgroup, so the last `--fraction` of each class
by number is a validation split that is later than what trains, as the test split is.
Writes `OUT/train/<class>/<file>` and `OUT/validation/<class>/<file>` (into a temporary
folder renamed into place); with `--tfidf`, also prints TF-IDF + logistic regression's
accuracy on it (`benchmarks/imdb.py`'s settings), the baseline to compare with.
"""
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs; set before it loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment_lstm import cli  # noqa: E402
from sentiment_lstm.core.errors import UserError  # noqa: E402


def main(argv=None):
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="20news-bydate.tar.gz",
                        help="an archive or folder of class folders with numbered files (found in ../shared/data/ "
                             "or data/ as the recipes' data are); its training split is split")
    parser.add_argument("--out", required=True, help="the folder to write (must not exist)")
    parser.add_argument("--fraction", type=float, default=0.1, help="of each class, the latest part that validates")
    parser.add_argument("--tfidf", action="store_true", help="also print TF-IDF + logistic regression's accuracy")
    args = parser.parse_args(argv)
    split(args)


def split(args):
    from sentiment_lstm.data import sources

    if not 0 < args.fraction < 1:
        raise UserError(f"--fraction must be between 0 and 1, not {args.fraction}.")
    out = Path(args.out)
    if out.exists():
        raise UserError(f"{out} exists already; give a new folder.")
    texts = {name: [] for name in ("train", "validation")}
    for label, files in numbered_files(Path(sources.locate(args.data))).items():
        files = sorted(files, key=lambda item: item[0])  # by article number: by time
        cut = len(files) - min(len(files) - 1, max(1, round(len(files) * args.fraction)))  # one trains at least
        for place, (number, text) in enumerate(files):
            texts["train" if place < cut else "validation"].append((label, number, text))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, rows in texts.items():
            for label, number, text in rows:
                (staging / name / label).mkdir(parents=True, exist_ok=True)
                (staging / name / label / str(number)).write_bytes(text)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"{out}: {len(texts['train']):,} training and {len(texts['validation']):,} later validation texts")
    if args.tfidf:
        print(f"TF-IDF + logistic regression on its validation split: {tfidf_accuracy(out):.2%}")


def numbered_files(data):
    """`{class: [(number, bytes), ...]}` of the files named by a number in the class folders
    of `data`'s training split (an archive or folder: `*train*/<class>/<number>`)."""
    if not data.exists():
        raise UserError(f"The data path {data} does not exist.")
    classes = {}

    def add(parts, read):
        if len(parts) >= 3 and "train" in parts[-3] and parts[-1].isdigit():
            classes.setdefault(parts[-2], []).append((int(parts[-1]), read()))

    if data.is_dir():
        for path in data.rglob("*"):
            if path.is_file():
                add(path.relative_to(data).parts, path.read_bytes)
    else:
        try:
            with tarfile.open(data) as archive:
                for member in archive:
                    if member.isfile():
                        add(Path(member.name).parts, archive.extractfile(member).read)
        except tarfile.TarError:
            raise UserError(f"{data} is not a folder or a tar archive.") from None
    if not classes:
        raise UserError(f"{data} has no training split of class folders of numbered files.")
    return classes


def tfidf_accuracy(out):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import imdb
    from sentiment_lstm.data import folders

    train, validation = folders.read(out / "train"), folders.read(out / "validation")
    model = make_pipeline(TfidfVectorizer(**imdb.TFIDF), LogisticRegression(**imdb.LOGISTIC))
    model.fit(list(train.texts), train.labels)
    return float(np.mean(model.predict(list(validation.texts)) == validation.labels))


if __name__ == "__main__":
    cli.run(main)
