"""Step 2 of the pipeline: text -> token ids, with Keras' TextVectorization in tf.data.

INTERFACE STUB — to be implemented (issue 3, section 2). Signatures are the contract
other modules code against; keep them.
"""


def standardize(texts):
    """Registered Keras serializable: strip HTML (`<br />`), Unicode lowercase, split punctuation."""
    raise NotImplementedError


def make_vectorizer(texts, max_tokens=20000):
    """A TextVectorization (int output, 0 = padding, 1 = OOV, no fixed length) adapted on `texts`."""
    raise NotImplementedError


def clip_tokens(tokens, max_length):
    """Truncate a (batch, time) or (time,) int tensor of token ids to at most `max_length` steps.
    Used both in the training pipeline and inside the exported model, so they agree."""
    raise NotImplementedError


def make_dataset(reviews, vectorizer, batch_size=64, max_length=200, shuffle=False, seed=0,
                 bucket=True):
    """tf.data.Dataset of (tokens int32 (batch, time<=max_length), one-hot labels float32 (batch, 2)),
    right-padded with 0; with `bucket`, batches group reviews of similar length to cut padding."""
    raise NotImplementedError
