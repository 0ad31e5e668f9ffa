"""Prototype of `train.py --teacher nb-lr`, kept for the variants the app does not have.

    python benchmarks/distillation.py [--teacher nb-lr|nb-lr+lstm|nb-lr+student|none] [--unlabeled N]
        [--temperature T] [--hard] [--flags units=128,dropout=0.5] [--keep first|last]
        [--crops K] [--init-seed S] [--nb-channels] [--adversarial EPS] [--save-val P.npy]
    python benchmarks/distillation.py --score A.npy B.npy ...   # each run's and their mean's accuracy

NB-LR (`sentiment_lstm/teacher.py`) is fitted on the training split less validation;
its probabilities label the 50,000 unlabeled reviews; the best recipe's LSTM (with the
`--flags` overrides) then trains on the labeled reviews (one-hot) plus the unlabeled
ones (the teacher's probabilities, soft targets under categorical cross-entropy),
early stopping on validation loss. `nb-lr+lstm` first trains the untaught LSTM and
teaches with the mean of its and NB-LR's log-odds; `nb-lr+student` does the same with
a first student taught by NB-LR (a second round of teaching); `none` trains on the labeled
reviews alone (the control). Prints the validation accuracy of the restored epoch.
`--nb-channels` feeds the LSTM each step's unigram and bigram NB ratios beside its
embedding; `--adversarial` adds the loss of adversarially perturbed embeddings.
`--save-val` keeps its validation probabilities, so `--score` can tell what an
ensemble of runs (the mean of their probabilities) would give, without training.
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

import numpy as np  # noqa: E402

from benchmarks.lm_pretraining import RECIPE  # noqa: E402  the best untaught recipe


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", choices=("nb-lr", "nb-lr+lstm", "nb-lr+student", "none"), default="nb-lr")
    parser.add_argument("--unlabeled", type=int, default=50000)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--hard", action="store_true", help="teacher's argmax instead of its probabilities")
    parser.add_argument("--flags", default="", help="Config overrides as k=v,k=v")
    parser.add_argument("--keep", choices=("first", "last"), default="first",
                        help="which max_length tokens of a long review are kept")
    parser.add_argument("--crops", type=int, default=0,
                        help="also teach on this many random crops (30-70%% of the words) per unlabeled review")
    parser.add_argument("--init-seed", type=int, help="seed of the weights and shuffling (default: --seed's)")
    parser.add_argument("--save-val", help="write the restored model's validation P(positive) here (.npy)")
    parser.add_argument("--nb-channels", action="store_true",
                        help="feed the LSTM two more input channels: the NB log-count ratio of each token's "
                             "unigram and of its bigram with the token before")
    parser.add_argument("--adversarial", type=float, default=0.0, metavar="EPS",
                        help="adversarial training (Miyato et al. 2017): also fit each batch with its embeddings "
                             "moved EPS x their RMS along the loss gradient (per-review L2 norm)")
    parser.add_argument("--score", nargs="+", metavar="NPY", help="only score saved validation probabilities")
    args = parser.parse_args()

    from sentiment_lstm import config, model, training

    if args.adversarial and args.nb_channels:
        parser.error("--adversarial perturbs the embedding of build_token_model's model; drop --nb-channels.")
    if args.score:
        return score(args.score, config.Config(**RECIPE))

    overrides = dict(kv.split("=") for kv in args.flags.split(",") if kv)
    cfg = config.Config(**{**RECIPE, **{k: config.parse_type(k)(v) for k, v in overrides.items()}})
    print(cfg)
    if not cfg.val_fraction:
        parser.error("the prototype reports validation accuracy; val_fraction must not be 0.")
    if args.nb_channels and model.ngram_dims(cfg):
        parser.error("--nb-channels builds its own model, without n-gram vectors; drop bigram_dim and trigram_dim.")
    training.set_threads(cfg.intra_op_threads)
    import keras
    import tensorflow as tf

    from sentiment_lstm import data, teacher, text

    training.seed_everything(cfg.seed, cfg.deterministic)
    if args.keep == "last":
        text.clip_tokens = clip_last  # what text.tokenize clips with, for training and validation alike
    source, train_reviews, val_reviews, vectorizer = training.read_splits(cfg)
    val_ds = text.make_dataset(val_reviews, vectorizer, batch_size=cfg.batch_size, max_length=cfg.max_length)
    vectors = training.pretrained_vectors(source, train_reviews, vectorizer, cfg) if cfg.pretrained_embeddings else None
    ratios = None
    if args.nb_channels:
        ratios = nb_ratios(text.tokenize(train_reviews.texts, vectorizer, cfg.max_length), train_reviews.labels,
                           vectorizer.vocabulary_size())
    init_seed = cfg.seed
    if args.init_seed is not None:  # the split stays --seed's
        init_seed = args.init_seed
        training.seed_everything(init_seed, cfg.deterministic)

    def fit(texts, targets):
        reviews = data.Reviews(texts, np.full(len(texts), data.UNLABELED))  # the targets say it all
        train_ds = text.make_dataset(reviews, vectorizer, batch_size=cfg.batch_size, max_length=cfg.max_length,
                                     shuffle=True, seed=init_seed, targets=targets)
        if ratios is not None:
            classifier = with_channels(vectorizer.vocabulary_size(), nb_channels(*ratios), cfg)
        else:
            classifier = model.build_token_model(vectorizer.vocabulary_size(), cfg,
                                                 ngram_keys=training.frequent_ngrams(reviews, vectorizer, cfg))
        if vectors is not None:
            classifier.get_layer("embedding").set_weights([vectors])
        if args.adversarial:
            classifier = adversarial(classifier, args.adversarial, cfg)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
            history = classifier.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, verbose=2, callbacks=[
                *model.ema_callbacks(cfg), keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience,
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
        u_texts += crops(u_texts, args.crops, cfg.seed)
        logits = teacher.NBLR(train_reviews.texts, train_reviews.labels).log_odds(u_texts + list(val_reviews.texts))
        logits, val_logits = logits[: len(u_texts)], logits[len(u_texts):]
        print(f"NB-LR val accuracy {((val_logits > 0) == val_reviews.labels).mean():.4f}, "
              f"{time.time() - start:.0f} s", flush=True)
        if args.teacher in ("nb-lr+lstm", "nb-lr+student"):
            if args.teacher == "nb-lr+lstm":
                first, _ = fit(texts, targets)
            else:  # a first round of teaching, by NB-LR alone
                first, _ = fit(texts + u_texts, np.concatenate([targets, teacher.soft_targets(logits)]))
            logits = (logits + log_odds(first, u_texts)) / 2
            val_logits = (val_logits + log_odds(first, list(val_reviews.texts))) / 2
            print(f"teacher val accuracy {((val_logits > 0) == val_reviews.labels).mean():.4f}, "
                  f"{time.time() - start:.0f} s", flush=True)
        positive = 1 / (1 + np.exp(-logits / args.temperature))
        if args.hard:
            positive = (positive > 0.5).astype("float32")
        texts += u_texts
        targets = np.concatenate([targets, np.stack([1 - positive, positive], 1).astype("float32")])
    classifier, history = fit(texts, targets)
    best = int(np.argmin(history["val_loss"]))
    if args.save_val:
        ordered = text.make_dataset(val_reviews, vectorizer, batch_size=256, max_length=cfg.max_length, bucket=False)
        np.save(args.save_val, classifier.predict(ordered, verbose=0)[:, 1])  # in val_reviews' order
    print(f"validation accuracy {history['val_accuracy'][best]:.4f} (epoch {best + 1} of {len(history['val_loss'])}; "
          f"by epoch: {', '.join(f'{a:.4f}' for a in history['val_accuracy'])}); {time.time() - start:.0f} s")


def score(paths, cfg):
    """Print the validation accuracy of each saved run and of the mean of their probabilities."""
    from sentiment_lstm import data

    reviews = data.load_reviews(data.resolve_source(cfg.data), "train", limit=cfg.limit, seed=cfg.seed)
    labels = data.split_validation(reviews, cfg.val_fraction, seed=cfg.seed)[1].labels
    runs = [np.load(path) for path in paths]
    for path, positive in zip(paths, runs):
        print(f"{path}: {((positive > 0.5) == labels).mean():.4f}")
    print(f"mean of {len(runs)}: {((np.mean(runs, axis=0) > 0.5) == labels).mean():.4f}")


def nb_ratios(tokens, labels, vocabulary_size, min_count=2):
    """NB log-count ratios r = log((p/|p|_1) / (q/|q|_1)) of token-id rows (a RaggedTensor):
    `(unigram ratios (V,), sorted bigram keys, their ratios)`, keyed as `ngrams.step_keys` does,
    for the bigrams in at least `min_count` rows. p and q count the positive and negative
    rows holding each unigram or kept bigram, plus 1 (`teacher.log_count_ratios`)."""
    from sentiment_lstm import ngrams, teacher

    rows, ids, bigram_keys = ngrams.step_keys(tokens, vocabulary_size)
    labels = np.asarray(labels)

    def ratios(keys, kept):
        key, row = ngrams.once_per_row(rows, keys)
        inverse = np.searchsorted(kept, key)
        found = kept[np.minimum(inverse, len(kept) - 1)] == key if len(kept) else np.zeros(len(key), bool)
        counts = [np.bincount(inverse[found & (labels[row] == c)], minlength=len(kept)) for c in (1, 0)]
        return teacher.log_count_ratios(*counts).astype("float32")

    unigram = ratios(ids, np.arange(vocabulary_size))
    unigram[:2] = 0.0  # padding and OOV
    keys = ngrams.frequent(tokens, vocabulary_size, min_count)
    return unigram, keys, ratios(bigram_keys, keys)


def nb_channels(unigram, keys, bigram):
    """A layer: token ids (batch, time) -> (batch, time, 2), each step's unigram and bigram NB
    ratio of `nb_ratios` (0 for a bigram it did not keep)."""
    import keras
    import tensorflow as tf

    from sentiment_lstm import ngrams

    size = len(unigram)
    unigram, keys = tf.constant(unigram), tf.constant(keys, tf.int64)
    bigram = tf.constant(np.r_[0.0, bigram].astype("float32"))  # row 0: a bigram not kept

    class NBChannels(keras.layers.Layer):
        def call(self, tokens):
            return tf.stack([tf.gather(unigram, tokens), tf.gather(bigram, ngrams.lookup(keys, tokens, size))], -1)

    return NBChannels(name="nb_channels")


def with_channels(vocabulary_size, channels, cfg):
    """`model.build_token_model` with the `channels` layer's output (batch, time, k), e.g.
    `nb_channels`, concatenated to its dropped-out embedding."""
    import keras

    from sentiment_lstm import model

    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocabulary_size, cfg.embed_dim, mask_zero=True, name="embedding")(tokens)
    x = keras.layers.SpatialDropout1D(cfg.embedding_dropout, name="embedding_dropout")(x)
    # Keras' Concatenate ORs its inputs' masks, an unmasked input counting as all steps valid,
    # so the padding mask is handed to the recurrent layer explicitly.
    mask = keras.layers.Lambda(lambda t: keras.ops.not_equal(t, 0), name="padding_mask")(tokens)
    x = keras.layers.Concatenate(name="with_channels")([x, channels(tokens)])
    x = model.recurrent_layer_class(cfg.cell)(cfg.units, return_sequences=cfg.pooling != "last",
                                              dropout=cfg.dropout, name="recurrent_0")(x, mask=mask)
    x = keras.layers.Dropout(cfg.dense_dropout)(model.pool(x, cfg.pooling))
    classifier = keras.Model(tokens, keras.layers.Dense(2, activation="softmax", name="probabilities")(x))
    classifier.compile(optimizer=model.optimizer(cfg), loss="categorical_crossentropy",
                       metrics=["accuracy"], steps_per_execution=cfg.steps_per_execution)
    return classifier


def adversarial(classifier, epsilon, cfg):
    """`classifier` (build_token_model's, "last" pooling) trained on the loss of each batch plus the
    loss of the same batch with its embeddings perturbed by r = eps * g / |g|, g the gradient of the
    loss with respect to the review's embeddings (Goodfellow et al. 2015; Miyato et al. 2017); eps
    is `epsilon` times the RMS of the embedding matrix, so it scales with the embeddings."""
    import keras
    import tensorflow as tf

    from sentiment_lstm import model

    if (cfg.layers, cfg.bidirectional, cfg.pooling, model.ngram_dims(cfg)) != (1, False, "last", {}):
        raise ValueError("adversarial() follows one LSTM layer read at its last state, without n-grams.")
    embedding, layers = classifier.get_layer("embedding"), [
        classifier.get_layer(name) for name in ("embedding_dropout", "recurrent_0", "dense_dropout", "probabilities")]
    cross_entropy = keras.losses.CategoricalCrossentropy()

    def head(embedded, mask):
        x = layers[0](embedded, training=True)
        x = layers[1](x, mask=mask, training=True)
        return layers[3](layers[2](x, training=True))

    class Adversarial(keras.Model):
        def __init__(self):
            super().__init__()
            self.classifier = classifier  # tracked: its weights are the model's

        def call(self, tokens, training=False):
            return self.classifier(tokens, training=training)

        def train_step(self, batch):
            tokens, targets, _ = keras.utils.unpack_x_y_sample_weight(batch)
            mask = tf.not_equal(tokens, 0)
            with tf.GradientTape() as tape:
                embedded = embedding(tokens)
                with tf.GradientTape() as inner:
                    inner.watch(embedded)
                    predicted = head(embedded, mask)
                    loss = cross_entropy(targets, predicted)
                with tape.stop_recording():
                    r = perturbation(inner.gradient(loss, embedded), embedding.embeddings, epsilon)
                adversarial_loss = cross_entropy(targets, head(embedded + r, mask))
                total = loss + adversarial_loss
            self.optimizer.apply(tape.gradient(total, self.trainable_variables), self.trainable_variables)
            for metric in self.metrics:
                metric.update_state(loss) if metric.name == "loss" else metric.update_state(targets, predicted)
            return {metric.name: metric.result() for metric in self.metrics}

    wrapped = Adversarial()
    wrapped.compile(optimizer=model.optimizer(cfg), loss="categorical_crossentropy",
                    metrics=["accuracy"], steps_per_execution=cfg.steps_per_execution)
    return wrapped


def perturbation(gradient, embeddings, epsilon):
    """The adversarial step r = eps * g / |g| of each review, g its `gradient` (batch, time, dim),
    |.| the L2 norm over the review's steps and dimensions, eps = `epsilon` x RMS of `embeddings`."""
    import tensorflow as tf

    return epsilon * tf.sqrt(tf.reduce_mean(tf.square(embeddings))) * tf.math.l2_normalize(gradient, axis=[1, 2])


def clip_last(tokens, max_length):
    """`text.clip_tokens` keeping the last `max_length` tokens of each right-padded row."""
    tokens = np.asarray(tokens)
    lengths = np.count_nonzero(tokens, axis=-1)
    steps = np.maximum(lengths - max_length, 0)[:, None] + np.arange(min(max_length, tokens.shape[-1]))
    kept = np.take_along_axis(tokens, np.minimum(steps, tokens.shape[-1] - 1), axis=-1)
    return np.where(steps < lengths[:, None], kept, 0)


def crops(texts, per_text, seed):
    """`per_text` random runs of 30-70% of each text's words, as new texts (none of a text without words)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(per_text):
        for t in texts:
            words = t.split()
            if not words:
                continue
            size = max(1, int(len(words) * rng.uniform(0.3, 0.7)))
            start = rng.integers(0, len(words) - size + 1)
            out.append(" ".join(words[start:start + size]))
    return out


if __name__ == "__main__":
    main()
