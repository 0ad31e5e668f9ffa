"""Publish a trained model again, reading another number of tokens per review when it serves.

    python scripts/serve_length.py MODEL_DIR --serve-max-length N --out NEW_DIR

Training reads the first `--max-length` tokens of each review; the saved model reads
`--serve-max-length` of them (0: the whole review; `train.py --serve-max-length`
chooses it before training). This rebuilds a trained model's end-to-end model with the
same weights, vocabulary and n-gram keys and another clip, and publishes it, with its
config (`serve_max_length` updated) and its training history, to NEW_DIR, atomically.
MODEL_DIR is left as it is. Choose N on the validation split
(`benchmarks/serving_lengths.py`).
"""
import dataclasses
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs; set before it loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment_lstm import cli, config  # noqa: E402
from sentiment_lstm.errors import UserError  # noqa: E402


def main(argv=None):
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="a model directory written by train.py")
    parser.add_argument("--serve-max-length", type=config.parse_type("serve_max_length"), required=True,
                        help="tokens per review the new model reads (0: the whole review)")
    parser.add_argument("--out", required=True, help="the new model directory")
    args = parser.parse_args(argv)
    from sentiment_lstm import export, inference, model, training

    source, out = Path(args.model_dir), Path(args.out)
    classifier = inference.load(source)
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        raise UserError("--out must be a directory outside the model's own, which is left as it is.")
    new_config = dataclasses.replace(classifier.config, serve_max_length=args.serve_max_length,
                                     model_dir=str(out))
    token_model, vectorizer = model.parts(classifier.model)
    end_to_end = model.build_end_to_end(token_model, vectorizer, new_config.serve_length)

    def write(directory):
        export.write_model(directory, end_to_end, new_config, vectorizer.vocabulary_size())
        for name in training.HISTORY_FILES:  # what training wrote; not an old evaluation's metrics
            if (source / name).is_dir():
                shutil.copytree(source / name, directory / name)
            elif (source / name).is_file():
                shutil.copy(source / name, directory / name)

    export.publish_dir(out, write)
    print(f"Saved the model to {out}, reading {new_config.serve_length or 'every'} tokens per review.")


if __name__ == "__main__":
    cli.run(main)
