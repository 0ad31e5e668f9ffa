"""Does a bag-of-n-grams model make the LSTM redundant? Validation split only.

    python benchmarks/ngram_stacking.py benchmarks/out/recipes/<recipe> [...] [--out benchmarks/ngram_stacking.json]

Fits NB-LR (`sentiment_lstm/teacher.py`, Wang & Manning 2012: binary unigram+bigram
features scaled by their naive Bayes log-count ratios, then logistic regression) on
the training split less its validation part, exactly as train.py carves it (same seed and fraction), and scores
the validation reviews. Then, for each trained model directory given, stacks the two:
a logistic regression on [LSTM log-odds, NB-LR log-odds] fitted and scored by 5-fold
cross-validation on the validation reviews, and the plain mean of the two log-odds
(nothing fitted). If neither is better than NB-LR alone, an n-gram branch beside the
LSTM would carry the accuracy by itself. The test split is never read.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.environment import describe, write_json  # noqa: E402


def combine(lstm, ngram, y, folds=5):
    """Accuracies of two models' positive-class log-odds `lstm` and `ngram` on labels `y`:
    each alone's sign, their plain mean's (nothing fitted), a logistic regression on the pair
    (fitted and scored by `folds`-fold cross-validation), and how often the two agree."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    def accuracy(log_odds):
        return float(((log_odds > 0) == y).mean())

    stacked = cross_val_score(LogisticRegression(), np.stack([lstm, ngram], 1), y, cv=folds).mean()
    return {"lstm_val_accuracy": accuracy(lstm),
            "stacked_val_accuracy_cv5": float(stacked),
            "averaged_val_accuracy": accuracy((lstm + ngram) / 2),
            "agreement_with_nb_lr": float(((lstm > 0) == (ngram > 0)).mean())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dirs", nargs="*", help="trained model directories (train.py --model-dir)")
    parser.add_argument("--data", help="IMDB archive or aclImdb/ folder (default: found automatically)")
    parser.add_argument("--out", default="benchmarks/ngram_stacking.json")
    args = parser.parse_args()

    import sentiment_lstm
    from sentiment_lstm import data, teacher
    from sentiment_lstm.config import Config

    config = Config()
    source = data.resolve_source(args.data)
    train, validation = data.split_validation(data.load_reviews(source, "train", seed=config.seed),
                                              config.val_fraction, seed=config.seed)
    y = np.asarray(validation.labels)
    ngram = teacher.NBLR(train.texts, train.labels).log_odds(validation.texts)
    report = {"nb_lr_val_accuracy": float(((ngram > 0) == y).mean()), "validation_reviews": len(y), "models": {}}
    print(f"NB-LR alone: {report['nb_lr_val_accuracy']:.4f}")
    for model_dir in args.model_dirs:
        classifier = sentiment_lstm.load(model_dir)
        if classifier.config is not None and (classifier.config.seed, classifier.config.val_fraction) != (
                config.seed, config.val_fraction):
            print(f"skipping {model_dir}: trained on another validation split")
            continue
        texts = list(validation.texts)
        positive = np.concatenate([classifier.predict_proba(texts[k:k + 500])[:, 1] for k in range(0, len(texts), 500)])
        positive = np.clip(positive, 1e-6, 1 - 1e-6)
        report["models"][model_dir] = scores = combine(np.log(positive / (1 - positive)), ngram, y)
        print(f"{model_dir}: LSTM {scores['lstm_val_accuracy']:.4f}, stacked with NB-LR "
              f"{scores['stacked_val_accuracy_cv5']:.4f}, log-odds averaged with NB-LR's {scores['averaged_val_accuracy']:.4f}")
    write_json(args.out, {**report, **describe()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    from sentiment_lstm import cli

    cli.run(main)
