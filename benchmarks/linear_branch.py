"""How much of a `--linear-ngrams` model's accuracy is its LSTM's? Each branch scored alone.

    python benchmarks/linear_branch.py DIR                 # the validation split DIR was trained beside
    python benchmarks/linear_branch.py DIR --split test    # the test split (for a model already chosen)

A `--linear-ngrams` model's class scores are the sum of two branches' (`model.py`):
the Dense layer on the LSTM's last state (`recurrent_scores`) and the linear bag of
words and n-grams (`linear_scores`). This scores the reviews with the whole model and
with each branch's scores alone (the other's left out of the sum), and prints and
returns the three accuracies, with how often the two branches agree. If the linear
branch alone were as good as the whole, the LSTM would carry nothing.
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 256


def branch_scores(classifier, texts):
    """`(recurrent, linear)` class scores `(len(texts), 2)` of a loaded `--linear-ngrams` classifier."""
    import keras
    import tensorflow as tf

    end_to_end = classifier.model
    token_model = end_to_end.get_layer("token_model")
    tokens = keras.Model(end_to_end.input, end_to_end.get_layer("pad_to_min_length").output)
    branches = keras.Model(token_model.input, [token_model.get_layer("recurrent_scores").output,
                                               token_model.get_layer("linear_scores").output])
    recurrent, linear = [], []
    for start in range(0, len(texts), BATCH):
        r, l = branches(tokens(tf.constant(texts[start:start + BATCH])), training=False)
        recurrent.append(np.asarray(r)), linear.append(np.asarray(l))
    return np.concatenate(recurrent), np.concatenate(linear)


def held_out(model_dir, config, split, data_path=None):
    """The reviews a model trained with `config` did not see: the test split, or
    (`split` "validation") the validation split its training run held out of train/."""
    from sentiment_lstm import data

    source = data.resolve_source(data_path)
    if split == "test":
        return data.load_reviews(source, "test")
    if not config.val_fraction:
        sys.exit(f"{model_dir} was trained without a validation split (--val-fraction 0); use --split test.")
    train = data.load_reviews(source, "train", limit=config.limit, seed=config.seed)
    return data.split_validation(train, config.val_fraction, seed=config.seed)[1]


def main(argv=None):
    from sentiment_lstm import cli

    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="a model trained with train.py --linear-ngrams")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--data", help="IMDB archive or aclImdb/ folder (default: found automatically)")
    parser.add_argument("--out", help="also write the figures, with commit, machine and versions, to this JSON file")
    args = parser.parse_args(argv)

    import sentiment_lstm

    classifier = sentiment_lstm.load(args.model_dir)
    config = classifier.config
    if not config.linear_ngrams:
        sys.exit(f"{args.model_dir} was not trained with --linear-ngrams: it has one branch.")
    reviews = held_out(args.model_dir, config, args.split, args.data)
    texts, y = list(reviews.texts), np.asarray(reviews.labels)
    recurrent, linear = branch_scores(classifier, texts)

    def accuracy(scores):
        return float((scores.argmax(1) == y).mean())

    report = {"split": args.split, "reviews": len(y), "model_accuracy": accuracy(recurrent + linear),
              "recurrent_branch_accuracy": accuracy(recurrent), "linear_branch_accuracy": accuracy(linear),
              "branches_agree": float((recurrent.argmax(1) == linear.argmax(1)).mean()),
              "model_dir": str(args.model_dir)}
    print(json.dumps(report, indent=2))
    if args.out:
        from benchmarks.environment import describe, write_json

        write_json(args.out, {**report, **describe()})
    return report


if __name__ == "__main__":
    from sentiment_lstm import cli

    cli.run(main)
