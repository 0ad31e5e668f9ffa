"""Validation accuracy of a trained model by how many tokens per text it reads when serving.

    python scripts/serving_lengths.py DIR [--lengths 400 600 800 0] [--split validation|test] [--out FILE]
    python scripts/serving_lengths.py benchmarks/out/workloads/trec/lstm --lengths 10 20 40 0

Training reads the first `--max-length` tokens of each text (400 in the best IMDB
recipe; 13% of IMDB's reviews are longer); the saved model may read another number
(`--serve-max-length`, 0: the whole text). This scores one trained model's weights at
each length given, on the validation split its run held out of its own data (any data
set: IMDB, a table, class folders; the test split only with `--split test`, for a length
already chosen), so the serving length is chosen like any other hyperparameter.
"""
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs; set before it loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment_lstm import cli  # noqa: E402
from sentiment_lstm.core import config, startup


def main(argv=None):
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="a model directory written by train.py")
    parser.add_argument("--lengths", nargs="+", type=config.parse_type("serve_max_length"),
                        default=[400, 600, 800, 0],
                        help="tokens per text to read (0: the whole text)")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--data", help="the labeled data whose split is read (default: the model's own)")
    parser.add_argument("--out", help="also write the figures, with commit, machine and versions, to this JSON file")
    args = parser.parse_args(argv)
    startup.import_tensorflow()

    import sentiment_lstm
    from sentiment_lstm.data import sources
    from sentiment_lstm.inference import classify
    from sentiment_lstm.model import network

    classifier = sentiment_lstm.load(args.model_dir)
    reviews = sources.held_out(classifier.config, args.split, args.data)
    texts, y = list(reviews.texts), np.asarray(reviews.labels)
    token_model, vectorizer = network.parts(classifier.model)
    report = {"split": args.split, "reviews": len(y), "trained_max_length": classifier.config.max_length,
              "model_dir": str(args.model_dir), "accuracy_by_length": {}}
    for length in args.lengths:
        served = classify.Classifier(network.build_end_to_end(token_model, vectorizer, length or None),
                                                    classifier.labels, classifier.config)
        accuracy = float((served.predict_proba(texts).argmax(1) == y).mean())
        report["accuracy_by_length"][str(length)] = accuracy
        print(f"{length or 'whole review'}: {accuracy:.4f}", flush=True)
    if args.out:
        from benchmarks.environment import describe, write_json  # commit, machine and versions

        write_json(args.out, {**report, **describe()})
    return report


if __name__ == "__main__":
    cli.run(main)
