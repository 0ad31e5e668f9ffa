"""Prototype of `train.py --teacher nb-lr`, kept for the variants the app does not have.

    python benchmarks/distillation.py [--teacher nb-lr|nb-lr+lstm|none] [--unlabeled N]
        [--temperature T] [--hard] [--flags units=128,dropout=0.5]

NB-LR (`sentiment_lstm/teacher.py`) is fitted on the training split less validation;
its probabilities label the 50,000 unlabeled reviews; the best recipe's LSTM (with the
`--flags` overrides) then trains on the labeled reviews (one-hot) plus the unlabeled
ones (the teacher's probabilities, soft targets under categorical cross-entropy),
early stopping on validation loss. `nb-lr+lstm` first trains the untaught LSTM and
teaches with the mean of its and NB-LR's log-odds; `none` trains on the labeled
reviews alone (the control). Prints the validation accuracy of the restored epoch.
The figures of the application's flag come from `benchmarks/recipes.py`.
"""
import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lm_pretraining import RECIPE  # noqa: E402  the best untaught recipe


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", choices=("nb-lr", "nb-lr+lstm", "none"), default="nb-lr")
    parser.add_argument("--unlabeled", type=int, default=50000)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--hard", action="store_true", help="teacher's argmax instead of its probabilities")
    parser.add_argument("--flags", default="", help="Config overrides as k=v,k=v")
    args = parser.parse_args()

    from sentiment_lstm import config, training

    overrides = dict(kv.split("=") for kv in args.flags.split(",") if kv)
    cfg = config.Config(**{**RECIPE, **{k: config.parse_type(k)(v) for k, v in overrides.items()}})
    print(cfg)
    training.set_threads(cfg.intra_op_threads)
    import keras
    import numpy as np
    import tensorflow as tf

    from sentiment_lstm import data, model, teacher, text

    training.seed_everything(cfg.seed, cfg.deterministic)
    source, train_reviews, val_reviews, vectorizer = training.read_splits(cfg)
    val_ds = text.make_dataset(val_reviews, vectorizer, batch_size=cfg.batch_size, max_length=cfg.max_length)
    vectors = training.pretrained_vectors(source, train_reviews, vectorizer, cfg) if cfg.pretrained_embeddings else None

    def fit(texts, targets):
        reviews = data.Reviews(texts, np.full(len(texts), data.UNLABELED))  # the targets say it all
        train_ds = text.make_dataset(reviews, vectorizer, batch_size=cfg.batch_size, max_length=cfg.max_length,
                                     shuffle=True, seed=cfg.seed, targets=targets)
        classifier = model.build_token_model(vectorizer.vocabulary_size(), cfg)
        if vectors is not None:
            classifier.get_layer("embedding").set_weights([vectors])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
            history = classifier.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, verbose=2, callbacks=[
                keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience,
                                              restore_best_weights=True)]).history
        return classifier, history

    def log_odds(classifier, texts):
        ds = tf.data.Dataset.from_tensor_slices(text.tokenize(texts, vectorizer, cfg.max_length)).batch(256).map(
            lambda r: r.to_tensor())
        p = np.clip(classifier.predict(ds, verbose=0)[:, 1], 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    texts = list(train_reviews.texts)
    targets = np.eye(2, dtype="float32")[train_reviews.labels]
    start = time.time()
    if args.teacher != "none":
        unlabeled = data.load_reviews(source, "unsup", seed=cfg.seed)
        u_texts = list(unlabeled.texts)[: args.unlabeled]
        logits = teacher.NBLR(train_reviews.texts, train_reviews.labels).log_odds(u_texts + list(val_reviews.texts))
        logits, val_logits = logits[: len(u_texts)], logits[len(u_texts):]
        print(f"NB-LR val accuracy {((val_logits > 0) == val_reviews.labels).mean():.4f}, "
              f"{time.time() - start:.0f} s", flush=True)
        if args.teacher == "nb-lr+lstm":
            lstm, _ = fit(texts, targets)
            logits = (logits + log_odds(lstm, u_texts)) / 2
            val_logits = (val_logits + log_odds(lstm, list(val_reviews.texts))) / 2
            print(f"teacher val accuracy {((val_logits > 0) == val_reviews.labels).mean():.4f}, "
                  f"{time.time() - start:.0f} s", flush=True)
        positive = 1 / (1 + np.exp(-logits / args.temperature))
        if args.hard:
            positive = (positive > 0.5).astype("float32")
        texts += u_texts
        targets = np.concatenate([targets, np.stack([1 - positive, positive], 1).astype("float32")])
    classifier, history = fit(texts, targets)
    best = int(np.argmin(history["val_loss"]))
    print(f"validation accuracy {history['val_accuracy'][best]:.4f} (epoch {best + 1} of {len(history['val_loss'])}; "
          f"by epoch: {', '.join(f'{a:.4f}' for a in history['val_accuracy'])}); {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
