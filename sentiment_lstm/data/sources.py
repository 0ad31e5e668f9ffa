"""Where a run's labeled texts come from: its training and validation splits, its held-out ones."""
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import split_validation
from sentiment_lstm.data.imdb import load_reviews, resolve_source

def training_splits(source, limit=None, val_fraction=0.1, seed=0):
    """`(train, validation)`: the IMDB training split of `source` (`limit` of it) less
    the seeded validation split a run with these settings holds out (`split_validation`;
    validation None with `val_fraction` 0). Training and every script that scores a
    model on "its" validation reviews carve them here, so they are the same reviews."""
    reviews = load_reviews(source, "train", limit=limit, seed=seed)
    if not val_fraction:
        return reviews, None
    return split_validation(reviews, val_fraction, seed=seed)


def held_out(config, split, path=None):
    """The labeled reviews a model trained with `config` did not see: the IMDB test
    split, or (`split` "validation") the validation split its run held out of train/.

    Raises:
        UserError: "validation" for a model trained without one (`--val-fraction 0`).
    """
    source = resolve_source(path)
    if split == "test":
        return load_reviews(source, "test")
    if not config.val_fraction:
        raise UserError("The model was trained without a validation split (--val-fraction 0); "
                        "score it on the test split instead.")
    return training_splits(source, config.limit, config.val_fraction, config.seed)[1]
