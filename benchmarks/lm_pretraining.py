"""Experiment (it failed): pretrain the LSTM as a language model on the training and
unlabeled reviews, then train the classifier from it (Dai & Le 2015), on validation.

    python benchmarks/lm_pretraining.py [--lm-epochs 2] [--window 50] [--transfer both|embedding|lstm]
        [--normalize]

The language model is the classifier's Embedding (started from the PPMI-SVD vectors,
as `--pretrained-embeddings`) and LSTM, then a sampled softmax over the vocabulary
(64 sampled words per token, `tf.nn.sampled_softmax_loss`) predicting each next
token, on the 22,500 training reviews less validation plus the 50,000 unlabeled ones
(first 400 tokens, cut into windows of `--window` tokens), Adam 1e-3, batch 256.
Then the best recipe's classifier (`RECIPE`) starts from its Embedding and LSTM
weights (`--transfer`: both, or one of them, the other as without the language
model) and trains as train.py would (EarlyStopping on val_loss); `--lm-epochs 0`
trains it from the PPMI vectors alone, the control. `--normalize` centers the
language model's word vectors and scales them back to the PPMI vectors' RMS before
the transfer. Prints the weights' RMS and the word vectors' common direction before
and after the language model, and the validation accuracy of the epoch with the
lowest validation loss. Not part of the application: the
figures are in the README's list of recipes tried.
"""
import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RECIPE = dict(max_length=400, embed_dim=128, pretrained_embeddings=True, dropout=0.6, embedding_dropout=0.5,
              dense_dropout=0.6, learning_rate=2e-4, patience=3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lm-epochs", type=int, default=2)
    parser.add_argument("--window", type=int, default=50, help="tokens per language-model row (divides 400)")
    parser.add_argument("--transfer", choices=("both", "embedding", "lstm"), default="both",
                        help="which of the language model's layers the classifier starts from")
    parser.add_argument("--normalize", action="store_true",
                        help="center the language model's word vectors and scale them to the RMS they started at")
    args = parser.parse_args()

    from sentiment_lstm import config, training

    cfg = config.Config(**RECIPE)
    training.set_threads(cfg.intra_op_threads)
    import keras
    import numpy as np
    import tensorflow as tf

    from sentiment_lstm import data, layers, model, text

    training.seed_everything(cfg.seed, cfg.deterministic)
    source, train_reviews, val_reviews, vectorizer = training.read_splits(cfg)
    vocabulary = vectorizer.vocabulary_size()
    embedding = keras.layers.Embedding(vocabulary, cfg.embed_dim, mask_zero=True)
    embedding.build((None,))
    embedding.set_weights([training.pretrained_vectors(source, train_reviews, vectorizer, cfg)])
    lstm = layers.LSTM(cfg.units, return_sequences=True)
    lstm.build((None, None, cfg.embed_dim))
    initial = {"embedding": embedding.get_weights(), "lstm": lstm.get_weights()}  # before the language model
    if args.lm_epochs:
        unlabeled = data.load_reviews(source, "unsup", seed=cfg.seed)
        tokens = text.tokenize(list(train_reviews.texts) + list(unlabeled.texts), vectorizer, cfg.max_length)
        windows = tokens.to_tensor(shape=(None, cfg.max_length)).numpy().reshape(-1, args.window)
        windows = windows[(windows != 0).sum(axis=1) >= 2]
        W_out = tf.Variable(tf.random.normal((vocabulary, cfg.units), stddev=0.05))
        b_out = tf.Variable(tf.zeros(vocabulary))
        weights = embedding.trainable_variables + lstm.trainable_variables + [W_out, b_out]
        optimizer = keras.optimizers.Adam(1e-3)

        @tf.function
        def step(rows):
            inputs, targets = rows[:, :-1], rows[:, 1:]
            with tf.GradientTape() as tape:
                h = lstm(embedding(inputs), mask=inputs != 0, training=True)
                keep = tf.reshape((targets != 0) & (inputs != 0), [-1])
                h = tf.boolean_mask(tf.reshape(h, (-1, cfg.units)), keep)
                next_tokens = tf.cast(tf.boolean_mask(tf.reshape(targets, [-1]), keep), tf.int64)[:, None]
                loss = tf.reduce_mean(tf.nn.sampled_softmax_loss(W_out, b_out, next_tokens, h, 64, vocabulary))
            optimizer.apply(tape.gradient(loss, weights), weights)
            return loss

        batches = tf.data.Dataset.from_tensor_slices(windows).shuffle(len(windows), seed=cfg.seed).batch(256)
        for epoch in range(args.lm_epochs):
            start, losses = time.time(), [float(step(rows)) for rows in batches]
            print(f"language model epoch {epoch + 1}: sampled-softmax loss {np.mean(losses):.3f}, "
                  f"{time.time() - start:.0f} s", flush=True)
        vectors = embedding.get_weights()[0]
        print(f"embedding RMS {rms(initial['embedding'][0]):.4f} before, {rms(vectors):.4f} after; "
              f"LSTM kernel RMS {rms(initial['lstm'][0]):.4f} before, {rms(lstm.get_weights()[0]):.4f} after; "
              f"|mean word vector| / mean |word vector|: {common_share(initial['embedding'][0]):.3f} before, "
              f"{common_share(vectors):.3f} after", flush=True)
        if args.normalize:
            vectors = vectors - vectors[2:].mean(axis=0)  # ids 0, 1: padding and OOV
            embedding.set_weights([vectors * rms(initial["embedding"][0]) / rms(vectors)])
    train_ds, val_ds = (text.make_dataset(split, vectorizer, batch_size=cfg.batch_size, max_length=cfg.max_length,
                                          shuffle=shuffle, seed=cfg.seed)
                        for split, shuffle in ((train_reviews, True), (val_reviews, False)))
    classifier = model.build_token_model(vocabulary, cfg)
    transferred = ("embedding", "lstm") if args.transfer == "both" else (args.transfer,)
    classifier.get_layer("embedding").set_weights(
        embedding.get_weights() if "embedding" in transferred else initial["embedding"])
    classifier.get_layer("recurrent_0").set_weights(lstm.get_weights() if "lstm" in transferred else initial["lstm"])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        history = classifier.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, verbose=2, callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience)]).history
    best = int(np.argmin(history["val_loss"]))
    print(f"validation accuracy {history['val_accuracy'][best]:.4f} (epoch {best + 1} of {len(history['val_loss'])}; "
          f"by epoch: {', '.join(f'{a:.4f}' for a in history['val_accuracy'])})")


def rms(weights):
    """Root mean square of an array of weights."""
    import numpy as np

    return float(np.sqrt(np.mean(np.square(weights))))


def common_share(vectors):
    """How much the word vectors (ids 2 on) share one direction: |their mean| / their mean norm."""
    import numpy as np

    words = vectors[2:]
    return float(np.linalg.norm(words.mean(axis=0)) / np.linalg.norm(words, axis=1).mean())


if __name__ == "__main__":
    main()
