"""Experiment: other teachers for `--teacher`, on the validation split (no TensorFlow).

    python benchmarks/teachers.py [--self-training]

Prints the validation accuracy of NB-LR (`sentiment_lstm/teacher.py`) at C = 0.3, 1
and 3; of a logistic regression on TF-IDF of character 2-5-grams (within words,
sublinear tf, min_df 3, at most 500,000 features, C = 4); and of the blends of both
log-odds, each scaled to unit standard deviation, at character weights 0.3 and 0.5.
With `--self-training` instead: NB-LR's learning curve (fitted on 17,500, 20,000 and
22,500 of the training reviews), and NB-LR refitted on the training reviews plus the
unlabeled ones it labeled itself (all of them, or those with |log-odds| > 2), alone
and averaged with NB-LR. None beat NB-LR at C = 1 (README, "Tried with it"). A few
minutes on 2 cores.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment_lstm import config, data, teacher  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-training", action="store_true")
    args = parser.parse_args()
    cfg = config.Config()
    source = data.resolve_source(cfg.data)
    reviews = data.load_reviews(source, "train", seed=cfg.seed)
    train, val = data.split_validation(reviews, cfg.val_fraction, seed=cfg.seed)

    def accuracy(log_odds):
        return ((log_odds > 0) == val.labels).mean()

    if args.self_training:
        return self_training(train, val, data.load_reviews(source, "unsup", seed=cfg.seed), accuracy)

    for C in (0.3, 1.0, 3.0):
        nb_lr = teacher.NBLR(train.texts, train.labels, C=C).log_odds(val.texts)
        print(f"NB-LR C={C}: {accuracy(nb_lr):.4f}", flush=True)
        if C == 1.0:
            best = nb_lr
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3,
                            max_features=500000, preprocessor=teacher.preprocess)
    classifier = LogisticRegression(C=4, max_iter=3000).fit(chars.fit_transform(train.texts), train.labels)
    char_lr = classifier.decision_function(chars.transform(val.texts))
    print(f"character 2-5-gram TF-IDF + LR: {accuracy(char_lr):.4f}")
    for weight in (0.3, 0.5):
        blend = (1 - weight) * best / best.std() + weight * char_lr / char_lr.std()
        print(f"blend, character weight {weight}: {accuracy(blend):.4f}")


def self_training(train, val, unlabeled, accuracy):
    order = np.random.default_rng(0).permutation(len(train.texts))
    for size in (17500, 20000, len(train.texts)):
        subset = train.subset(np.sort(order[:size]))
        print(f"NB-LR from {size} reviews: {accuracy(teacher.NBLR(subset.texts, subset.labels).log_odds(val.texts)):.4f}",
              flush=True)
    nb_lr = teacher.NBLR(train.texts, train.labels)
    base, guessed = nb_lr.log_odds(val.texts), nb_lr.log_odds(unlabeled.texts)
    for threshold in (0.0, 2.0):
        sure = np.flatnonzero(np.abs(guessed) > threshold)
        refit = teacher.NBLR(list(train.texts) + [unlabeled.texts[k] for k in sure],
                             np.concatenate([train.labels, (guessed[sure] > 0).astype(int)])).log_odds(val.texts)
        print(f"self-trained on {len(sure)} unlabeled reviews (|log-odds| > {threshold}): {accuracy(refit):.4f}, "
              f"averaged with NB-LR: {accuracy(refit / refit.std() + base / base.std()):.4f}", flush=True)


if __name__ == "__main__":
    main()
