"""Training under `tf.distribute`: `--distribute mirrored` (the devices of one machine)
or `--distribute multi-worker` (several machines, described by `TF_CONFIG`).

Keras 3's `model.fit` does not run under `MultiWorkerMirroredStrategy` here (Keras
3.15.1, TensorFlow 2.21): before the first step it reduces a batch of *data* across
the replicas (`_maybe_symbolic_build` in `keras/src/backend/tensorflow/trainer.py`)
and fails with "Attempt to convert a value (PerReplica:...) with an unsupported type".
So both strategies train with one custom loop (TensorFlow's `multi_worker_with_ctl`
pattern) that drives the same compiled model, optimizer and Keras callbacks:

    global batch b (the `--batch-size` texts of `pipeline.make_dataset`, built the same on
    every worker from the same seed) -> R slices, one per replica (`replica_batches`);
    each replica: loss_r = Σ_{its texts} cross-entropy / |b|, its gradient;
    the optimizer all-reduces (sums) the R gradients, sparse embedding rows included,
    and every replica applies the same update: the step of one process on b.

Epoch metrics are sums over all texts reduced across the workers once per epoch
(`loss` and `accuracy` as Keras reports them; `val_*` on the validation split, sliced
the same way), so early stopping sees the same global `val_loss` on every worker and
they all stop at the same epoch.

What is written, and by whom: the chief (task `chief`, else worker 0) keeps the work
area `<model_dir>.work/` of `loop.py` (backup, best weights, history, logs) and
publishes the model directory (`publish.publish_model`); the other workers write the
same callbacks' files into a temporary directory of their own, deleted at the end. On
a restart every worker starts from the chief's backup (which must be on a filesystem
all of them see), and they check that they resume from the same epoch. When a worker
dies, the others' collectives fail (TensorFlow's peer health checks, or
`COLLECTIVE_TIMEOUT`) and they stop with a `UserError` that says how to resume.

The project's LSTM keeps its fast training paths in each replica (`rnn/packed.py`,
`rnn/fused.py`): `strategy.run` traces the model in a replica context, not under XLA.
"""
import json
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sentiment_lstm.core import layout
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.text import pipeline
from sentiment_lstm.training.callbacks import BACKUP, make_callbacks

COLLECTIVE_TIMEOUT = 600  # seconds a collective waits for a stalled peer before failing
COPIED_FROM_CHIEF = (BACKUP, layout.HISTORY_CSV)  # what a worker needs to resume as the chief does
# What a lost peer looks like from the workers left: their collectives fail with these.
PEER_LOST = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
             tf.errors.AbortedError)


def make_strategy(name):
    """The `tf.distribute` strategy of `--distribute name`: "mirrored" over the local
    devices (GPUs, else the CPU and any logical CPUs), "multi-worker" over the cluster
    in `TF_CONFIG`; None for "none" (one process, Keras' `fit`). Create it before
    TensorFlow runs any op.

    Raises:
        UserError: "multi-worker" without a readable `TF_CONFIG`.

    Example:

    >>> make_strategy("mirrored").num_replicas_in_sync   # one CPU, no GPU
    1
    """
    if name == "none":
        return None
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multi-worker":
        read_tf_config()
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=COLLECTIVE_TIMEOUT)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    raise ValueError(f"`name` must be 'mirrored' or 'multi-worker'. Received: name={name!r}")


def read_tf_config():
    """`TF_CONFIG` as a dict, checked to name a cluster and this process's task in it.

    Raises:
        UserError: it is unset, not JSON, or does not place this task in the cluster.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UserError("--distribute multi-worker needs the TF_CONFIG environment variable "
                        "(the cluster and this worker's task; see docs/distributed.md).")
    try:
        tf_config = json.loads(raw)
        task = tf_config["task"]
        tasks = tf_config["cluster"][task["type"]]
        if not 0 <= int(task["index"]) < len(tasks):
            raise IndexError
    except (ValueError, KeyError, TypeError, IndexError):
        raise UserError("TF_CONFIG must be JSON with a 'cluster' of task lists and a 'task' "
                        "{'type', 'index'} that is one of them (see docs/distributed.md).") from None
    return tf_config


def local_cluster(workers):
    """The `TF_CONFIG` (JSON text) of each of `workers` processes on this machine, on free
    ports of 127.0.0.1: to try `--distribute multi-worker` (or test it) on one machine.

    Example:

    >>> first, second = local_cluster(2)
    >>> json.loads(second)["task"]
    {'type': 'worker', 'index': 1}
    """
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))  # the kernel picks a free port; closed again just below
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(workers)]


def is_chief(config):
    """Whether this process writes the work area and publishes the model: always with one
    process (`--distribute none` or `mirrored`); with `multi-worker`, when `TF_CONFIG`'s
    task is the "chief", or worker 0 of a cluster without a chief (as Kubeflow and
    TensorFlow's own tutorials number them)."""
    if config.distribute != "multi-worker":
        return True
    tf_config = read_tf_config()
    task = tf_config["task"]
    return task["type"] == "chief" or (task["type"] == "worker" and int(task["index"]) == 0
                                       and "chief" not in tf_config["cluster"])


def replica_batches(dataset, context, replicas):
    """This input pipeline's share of each global batch of `dataset`.

    Each global batch `(tokens, labels[, weights])` of n texts is cut into `replicas` slices of
    consecutive rows (slice r: rows `r n // replicas` to `(r + 1) n // replicas`); the
    pipeline `context.input_pipeline_id` (a worker) keeps the slices of its own replicas,
    one element each, in replica order (how `distribute_datasets_from_function` hands
    elements to a worker's devices), each with n.

    Args:
        dataset: global batches `(tokens, labels[, weights])`, the same on every worker.
        context: the `tf.distribute.InputContext` of this pipeline.
        replicas: replicas in the whole job (`strategy.num_replicas_in_sync`).

    Returns:
        A dataset of `(tokens, labels[, weights], n)`: this replica's rows, and the global
        batch's count.

    Example:

    >>> context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2)
    >>> batches = tf.data.Dataset.from_tensors((tf.range(5)[:, None], tf.zeros((5, 2))))
    >>> [x.numpy().ravel().tolist() for x, _, n in replica_batches(batches, context, 2)]
    [[2, 3, 4]]
    """
    local = replicas // context.num_input_pipelines  # replicas of this pipeline
    first = context.input_pipeline_id * local

    def slices(*batch):
        rows = tf.shape(batch[0])[0]
        bounds = tf.range(replicas + 1) * rows // replicas

        def slice_of(r):
            return (*(values[bounds[r]:bounds[r + 1]] for values in batch), rows)

        return tf.data.Dataset.range(first, first + local).map(lambda r: slice_of(tf.cast(r, tf.int32)))

    return dataset.flat_map(slices)


def distribute_batches(strategy, make_global_batches):
    """The distributed dataset of `replica_batches` of `make_global_batches()` (called on each worker)."""
    replicas = strategy.num_replicas_in_sync
    return strategy.distribute_datasets_from_function(
        lambda context: pipeline.prefetched(replica_batches(make_global_batches(), context, replicas)))


def replica_sums(token_model, tokens, labels, rows, training, weights=None):
    """A replica's `(loss, [Σ cross-entropy, Σ correct, texts])` on its slice; loss is
    its share of the global batch's mean, `Σ cross-entropy / rows` (plus its share of
    the model's own losses, as Keras scales them for distribution); with `weights`, each
    text's cross-entropy is weighted, as Keras weighs a sample."""
    probabilities = token_model(tokens, training=training)
    cross_entropy = keras.losses.categorical_crossentropy(labels, probabilities)  # (texts,)
    if weights is not None:
        cross_entropy = cross_entropy * weights
    correct = tf.cast(tf.equal(tf.argmax(probabilities, -1), tf.argmax(labels, -1)), tf.float32)
    loss = tf.reduce_sum(cross_entropy) / tf.cast(rows, cross_entropy.dtype)
    if token_model.losses:
        loss += keras.src.losses.loss.scale_loss_for_distribution(tf.add_n(token_model.losses))
    sums = tf.stack([tf.reduce_sum(cross_entropy), tf.reduce_sum(correct), tf.cast(tf.shape(tokens)[0], tf.float32)])
    return loss, sums


def make_steps(strategy, token_model, element_spec):
    """`(train_step, test_step)`: tf.functions of a distributed batch that run one step
    on every replica and return the per-replica sums of `replica_sums`. The training
    step applies the model's optimizer, which all-reduces (sums) the gradients."""
    variables = token_model.trainable_variables

    def train_replica(tokens, labels, *weights_and_rows):
        with tf.GradientTape() as tape:
            loss, sums = replica_sums(token_model, tokens, labels, weights_and_rows[-1], True, *weights_and_rows[:-1])
        token_model.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return sums

    def test_replica(tokens, labels, *weights_and_rows):
        return replica_sums(token_model, tokens, labels, weights_and_rows[-1], False, *weights_and_rows[:-1])[1]

    @tf.function(input_signature=[element_spec])
    def train_step(batch):
        return strategy.run(train_replica, args=batch)

    @tf.function(input_signature=[element_spec])
    def test_step(batch):
        return strategy.run(test_replica, args=batch)

    return train_step, test_step


def run_epoch(strategy, step, batches):
    """Run `step` over the distributed `batches`; return the global `(mean cross-entropy,
    accuracy)` over all their texts, summed on each worker then across workers."""
    total = np.zeros(3)
    for batch in batches:
        for sums in strategy.experimental_local_results(step(batch)):
            total += sums.numpy()
    loss_sum, correct, texts = sum_over_workers(strategy, total)
    return loss_sum / texts, correct / texts


def sum_over_workers(strategy, local_total):
    """`local_total` (a NumPy vector, this worker's) summed over all workers: an all-reduce."""
    local = len(strategy.extended.worker_devices)  # replicas on this worker, consecutive global ids
    value = tf.constant(local_total, tf.float64)
    zero = tf.zeros_like(value)
    per_replica = strategy.experimental_distribute_values_from_function(  # the first local one carries it
        lambda context: value if context.replica_id_in_sync_group % local == 0 else zero)
    return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None).numpy()


def barrier(strategy):
    """Wait until every worker gets here (an all-reduce of nothing much)."""
    sum_over_workers(strategy, np.zeros(1))


def fit(strategy, token_model, train_batches, val_batches, config, callbacks):
    """Train `token_model` (built in `strategy.scope()`) for `config.epochs` epochs under
    `strategy`, with the Keras `callbacks` called as `fit` calls them (epoch begin/end,
    validation begin/end; `BackupAndRestore` may set the first epoch).

    Returns:
        The `keras.callbacks.History` of the epochs run.

    Raises:
        UserError: the workers resume from different epochs, or a worker was lost.
    """
    train_step, test_step = make_steps(strategy, token_model, train_batches.element_spec)
    callbacks = keras.callbacks.CallbackList(callbacks, add_history=True, model=token_model,
                                             epochs=config.epochs, steps=None, verbose=0)
    callbacks.on_train_begin()
    first = token_model._initial_epoch or 0  # where BackupAndRestore resumes, as `fit` reads it
    token_model._initial_epoch = None
    check_same_epoch(strategy, first)
    chief = is_chief(config)
    logs = {}
    for epoch in range(first, config.epochs):
        started = time.perf_counter()
        callbacks.on_epoch_begin(epoch)
        loss, accuracy = run_epoch(strategy, train_step, train_batches)
        logs = {"loss": loss, "accuracy": accuracy}
        if val_batches is not None:
            callbacks.on_test_begin()
            val_loss, val_accuracy = run_epoch(strategy, test_step, val_batches)
            callbacks.on_test_end({"loss": val_loss, "accuracy": val_accuracy})
            logs.update(val_loss=val_loss, val_accuracy=val_accuracy)
        callbacks.on_epoch_end(epoch, logs)
        if chief:
            shown = " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
            print(f"Epoch {epoch + 1}/{config.epochs} - {time.perf_counter() - started:.0f}s - {shown}", flush=True)
        if token_model.stop_training:
            break
    callbacks.on_train_end(logs)
    return token_model.history


def check_same_epoch(strategy, epoch):
    """Raise unless every worker resumes at `epoch`: with Σ e, Σ e² and the count n over
    the workers, they all equal `epoch` exactly when Σ e = n epoch and Σ e² = n epoch².

    Raises:
        UserError: they do not, e.g. a worker that could not read the chief's backup.
    """
    total, squares, workers = sum_over_workers(strategy, np.array([epoch, epoch**2, 1.0]))
    if total != workers * epoch or squares != workers * epoch**2:
        raise UserError(f"The workers would resume from different epochs (this one after {epoch}): the work "
                        "area must be the chief's, on a filesystem that all of them share.")


def private_copy(shared_work):
    """A new temporary directory (outside the model's) with copies of what the chief's
    work area holds to resume from (`COPIED_FROM_CHIEF`), for a worker's own callbacks."""
    work = tempfile.mkdtemp(prefix="sentiment_lstm_worker_")
    for name in COPIED_FROM_CHIEF:
        source = shared_work / name
        if source.is_dir():
            shutil.copytree(source, os.path.join(work, name))
        elif source.is_file():
            shutil.copy(source, work)
    return Path(work)


def fit_under(strategy, token_model, train_batches, val_batches, config, work, chief, callbacks=()):
    """`fit` of `token_model` (built in `strategy.scope()`) under `strategy` on the
    distributed batches `train_batches` (`distribute_batches`; validated on `val_batches`
    or None), with the run's callbacks (`callbacks.make_callbacks`) then `callbacks`. The chief's
    write the work area `work`; another worker's write a private copy of it
    (`private_copy`), deleted at the end.

    Raises:
        UserError: workers resuming from different epochs, or a lost worker.
    """
    with strategy.scope():
        token_model.optimizer.build(token_model.trainable_variables)
    barrier(strategy)  # the chief's work area is ready (or discarded) before the others read it
    own = work if chief else private_copy(work)
    try:
        return fit(strategy, token_model, train_batches, val_batches, config, [*make_callbacks(config, own), *callbacks])
    except PEER_LOST as error:
        raise UserError(f"Training stopped: another worker was lost ({first_line(error)}). Start the same "
                        "command on every worker again to resume after the last completed epoch.") from None
    finally:
        if not chief:
            shutil.rmtree(own, ignore_errors=True)


def first_line(error):
    """The first line of a TensorFlow error's message, without the op it names in `{{...}}`."""
    text = re.sub(r"\{\{.*?\}\}", "", getattr(error, "message", None) or str(error)).strip()
    return text.splitlines()[0].rstrip(":") if text else type(error).__name__
