"""Publish a trained model again, reading another number of tokens per review when it serves.

    python scripts/serve_length.py MODEL_DIR --serve-max-length N --out NEW_DIR

Training reads the first `--max-length` tokens of each review; the saved model reads
`--serve-max-length` of them (0: the whole review; `train.py --serve-max-length`
chooses it before training). This rebuilds a trained model's end-to-end model with the
same weights, vocabulary and n-gram keys and another clip, and publishes it, with its
config (`serve_max_length` updated) and its training history, to NEW_DIR, atomically.
MODEL_DIR is left as it is. Choose N on the validation split
(`scripts/serving_lengths.py`).
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs; set before it loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment_lstm import cli  # noqa: E402
from sentiment_lstm.core import config, startup


def main(argv=None):
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="a model directory written by train.py")
    parser.add_argument("--serve-max-length", type=config.parse_type("serve_max_length"), required=True,
                        help="tokens per review the new model reads (0: the whole review)")
    parser.add_argument("--out", required=True, help="the new model directory")
    args = parser.parse_args(argv)
    startup.import_tensorflow()
    from sentiment_lstm.export import publish

    new_config = publish.republish(args.model_dir, args.out, args.serve_max_length)
    print(f"Saved the model to {args.out}, reading {new_config.serve_length or 'every'} tokens per review.")


if __name__ == "__main__":
    cli.run(main)
