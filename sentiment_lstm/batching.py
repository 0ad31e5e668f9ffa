"""Micro-batching: concurrent requests coalesced into one model call, as TensorFlow
Serving's batching does, with its parameter names.

A request's reviews wait in a bounded queue. The first review to arrive opens a batch;
the batch closes when it holds `max_batch_size` reviews or `batch_timeout_micros` have
passed since then, whichever comes first, and goes to the one model thread while the
next batch fills. Inside a batch the reviews are sorted by length and cut into groups
of similar length (`length_groups`), one model call each, so a long review does not pad
the short ones when another call costs less than the padding. A request larger than `max_batch_size` is split across batches. The
queue holds at most `max_enqueued_batches * max_batch_size` reviews: past that a request
is refused at once (`QueueFull`) instead of the queue growing without bound.

Example:

>>> batcher = MicroBatcher(classifier.predict_proba, executor, max_batch_size=64)
>>> probabilities = await batcher.predict(["A great film.", "Dull."])   # (2, 2)
"""
import asyncio
import collections
import dataclasses
import logging
import math
import time

import numpy as np

# The estimated cost of one padded model call, in steps of one review's recurrence, as
# profiled on the best recipe's model (2 cores): `predict`'s own overhead is about 10 ms a
# call and a step about 78 us, so CALL_COST ~ 128 steps; batches of 256 ran at 210
# reviews/s, so each further review of a batch adds ROW_COST ~ 0.04 to a step's cost.
CALL_COST = 128.0
ROW_COST = 0.04

log = logging.getLogger("sentiment_lstm.server.batching")


class QueueFull(Exception):
    """The queue has no room for a request's reviews now; its message is a sentence."""


class TooLarge(Exception):
    """A request has more reviews than the queue can ever hold; its message is a sentence."""


def length_groups(lengths, call_cost=CALL_COST, row_cost=ROW_COST):
    """Indices of `lengths` sorted by length and cut into the groups of similar length
    whose padded model calls take the least estimated time, by dynamic programming
    over the cut points. A group of `n` reviews, the longest `L` steps long, costs

        call_cost + L * (1 + row_cost * n)        (in steps of one review)

    so a long review is split off from short ones when padding them to its length
    would cost more than another call.

    Args:
        lengths: one length (steps the model reads) per review.
        call_cost: a model call's fixed cost, in steps.
        row_cost: what each review adds to a step's cost, relative to one review's step.

    Returns:
        A list of lists of indices into `lengths`, shortest reviews first.

    Example:

    >>> length_groups([100, 1, 101, 2], call_cost=10, row_cost=1)   # 16 + 313, not 515 for one group
    [[1, 3], [0, 2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    best, cut = [0.0] + [math.inf] * len(order), [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):  # best[end]: the cheapest cover of the `end` shortest
        longest = lengths[order[end - 1]]
        for start in range(end):
            cost = best[start] + call_cost + longest * (1 + row_cost * (end - start))
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups, end = [], len(order)
    while end:
        groups.append(order[cut[end]:end])
        end = cut[end]
    return groups[::-1]


def predict_grouped(predict, texts, max_length=None):
    """(rows, groups): `predict(texts)`, called once per `length_groups` group of
    `texts`, the rows put back in the order of `texts`. A review's length is its
    whitespace-separated words, at most `max_length` (the model's serving length; None:
    it reads whole reviews)."""
    groups = length_groups([min(len(t.split()), max_length or math.inf) for t in texts])
    rows = [None] * len(texts)
    for group in groups:
        for i, row in zip(group, predict([texts[i] for i in group])):
            rows[i] = row
    return (np.stack(rows) if rows else np.zeros((0, 2), np.float32)), len(groups)


@dataclasses.dataclass
class _Piece:
    """Up to `max_batch_size` reviews of one request, and the future of their rows."""

    texts: list
    future: asyncio.Future
    arrival: float


class MicroBatcher:
    """Coalesces concurrent `predict` calls into batched calls of `model` on `executor`.

    Args:
        model: a function from a list of review strings to their `(n, 2)` rows, e.g.
            `SentimentClassifier.predict_proba`; it runs on `executor`, one call at a time.
        executor: a `concurrent.futures` executor with one worker thread (the model thread).
        max_batch_size: the most reviews per batch (TF Serving's `max_batch_size`).
        batch_timeout_micros: how long a batch waits for more reviews after its first.
        max_enqueued_batches: the queue holds at most this many full batches of reviews.
        coalesce: False runs each request on its own (split at `max_batch_size`),
            for comparison; the queue bound still holds.
        max_length: the most tokens the model reads of a review (None: all), which
            bounds the lengths that `length_groups` sees.
    """

    def __init__(self, model, executor, max_batch_size=64, batch_timeout_micros=2000,
                 max_enqueued_batches=100, coalesce=True, max_length=None):
        self.model = model
        self.max_length = max_length
        self.executor = executor
        self.max_batch_size = max_batch_size
        self.timeout = batch_timeout_micros / 1e6
        self.capacity = max_batch_size * max_enqueued_batches
        self.coalesce = coalesce
        self.pending = collections.deque()
        self.queued = 0  # reviews in `pending`
        self._arrived = asyncio.Event()
        self._task = None

    def start(self):
        """Start forming batches (on the running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self):
        """Stop forming batches; requests still queued fail."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for piece in self.pending:
            if not piece.future.done():
                piece.future.set_exception(QueueFull("The server is shutting down."))
        self.pending.clear()

    async def predict(self, texts):
        """The model's `(len(texts), 2)` rows for `texts`, computed in a shared batch.

        Raises:
            TooLarge: when `texts` has more reviews than the queue can hold.
            QueueFull: when the queue has no room for them now.
        """
        texts = list(texts)
        if len(texts) > self.capacity:
            raise TooLarge(f"A request may hold at most {self.capacity:,} reviews "
                           "(--max-batch-size times --max-enqueued-batches); "
                           f"this one holds {len(texts):,}.")
        if self.queued + len(texts) > self.capacity:
            raise QueueFull(f"The queue is full ({self.queued:,} reviews waiting); try again shortly.")
        if not texts:
            return np.zeros((0, 2), np.float32)
        loop = asyncio.get_running_loop()
        futures = []
        for start in range(0, len(texts), self.max_batch_size):
            piece = _Piece(texts[start:start + self.max_batch_size], loop.create_future(), loop.time())
            self.pending.append(piece)
            futures.append(piece.future)
        self.queued += len(texts)
        self._arrived.set()
        return np.concatenate(await asyncio.gather(*futures))

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            while not self.pending:
                self._arrived.clear()
                await self._arrived.wait()
            if self.coalesce:
                await self._fill(loop, self.pending[0].arrival + self.timeout)
            batch = self._take()
            try:
                rows = await loop.run_in_executor(self.executor, self._call, [p.texts for p in batch])
            except Exception as error:  # the model failed: every request of the batch hears of it
                for piece in batch:
                    if not piece.future.done():
                        piece.future.set_exception(error)
                continue
            for piece, piece_rows in zip(batch, rows):
                if not piece.future.done():  # not given up by its request
                    piece.future.set_result(piece_rows)

    async def _fill(self, loop, deadline):
        """Wait until a batch is full or `deadline` passes."""
        while self.queued < self.max_batch_size and (left := deadline - loop.time()) > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return

    def _take(self):
        """The pieces of the next batch, oldest first (one request's alone when not coalescing)."""
        batch, size = [self.pending.popleft()], 0
        size = len(batch[0].texts)
        while self.coalesce and self.pending and size + len(self.pending[0].texts) <= self.max_batch_size:
            size += len(self.pending[0].texts)
            batch.append(self.pending.popleft())
        self.queued -= size
        return batch

    def _call(self, pieces):
        """On the model thread: one batch's rows, split back into its pieces."""
        texts = [t for piece in pieces for t in piece]
        start = time.perf_counter()
        rows, groups = predict_grouped(self.model, texts, self.max_length)
        log.debug("batch of %d reviews (%d requests) in %d length groups: %.1f ms", len(texts), len(pieces),
                  groups, (time.perf_counter() - start) * 1e3)
        bounds = np.cumsum([len(piece) for piece in pieces])[:-1]
        return np.split(rows, bounds)
