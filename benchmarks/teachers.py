"""Experiment: other teachers for `--teacher`, on the validation split (no TensorFlow).

    python benchmarks/teachers.py

Prints the validation accuracy of NB-LR (`sentiment_lstm/teacher.py`) at C = 0.3, 1
and 3; of a logistic regression on TF-IDF of character 2-5-grams (within words,
sublinear tf, min_df 3, at most 500,000 features, C = 4); and of the blends of both
log-odds, each scaled to unit standard deviation, at character weights 0.3 and 0.5.
None beat NB-LR at C = 1 (README, "Tried with it"). A few minutes on 2 cores.
"""
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment_lstm import config, data, teacher  # noqa: E402


def main():
    cfg = config.Config()
    reviews = data.load_reviews(data.resolve_source(cfg.data), "train", seed=cfg.seed)
    train, val = data.split_validation(reviews, cfg.val_fraction, seed=cfg.seed)

    def accuracy(log_odds):
        return ((log_odds > 0) == val.labels).mean()

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


if __name__ == "__main__":
    main()
