"""Classify reviews: one JSON object per review and line, {"label": ..., "score": ...}.

    python predict.py --model-dir DIR "A great film." "Two hours I will not get back."
    python predict.py --model-dir DIR --file reviews.txt    # one review per line
    cat reviews.txt | python predict.py --model-dir DIR -

`score` is the model's probability of the printed label.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs; set before it loads

from sentiment_lstm import cli, config  # noqa: E402


def main():
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", nargs="*", metavar="TEXT",
                        help="a review to classify; - reads reviews from stdin, one per line")
    parser.add_argument("--file", action="append", default=[], metavar="F",
                        help="a file of reviews, one per line (- is stdin); may be repeated")
    parser.add_argument("--model-dir", default=config.Config().output_dir,
                        help="model directory written by train.py (default: %(default)s)")
    args = parser.parse_args()
    if not args.texts and not args.file:
        parser.error("give reviews to classify: TEXT arguments, --file F, or - for stdin")
    from sentiment_lstm import inference

    inference.main(args.model_dir, args.texts, args.file)


if __name__ == "__main__":
    cli.run(main)
