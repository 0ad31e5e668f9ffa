"""Work in a second Python process while this one goes on.

`start(function, *args)` runs `function(*args)` in a fresh interpreter (the "spawn"
start method: no copy of this process's TensorFlow threads) and returns a callable
that waits for the result. Training fits its n-gram teacher this way, beside the
vocabulary and the batches, which a thread cannot do: the teacher's tokenizing holds
the GIL, and in a thread it slowed the main thread's work 2.6x (docs/results.md).

The second process is a daemon: it ends with this one. It prints nothing of its own
(its stdout would bypass any redirection of this process's), so the caller reports.
"""
import multiprocessing


def start(function, *args):
    """Start `function(*args)` in a new process; `function` and `args` must pickle.

    Returns:
        A callable that waits for the process and returns what `function` returned,
        or raises what it raised.

    Example:

    >>> result = start(divmod, 7, 2)
    >>> result()
    (3, 1)
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_answer, args=(sender, function, args), daemon=True,
                              name=f"background {getattr(function, '__name__', 'work')}")
    process.start()
    sender.close()  # ours: the child holds its own copy

    def result():
        try:
            succeeded, value = receiver.recv()
        except EOFError:
            process.join()
            raise RuntimeError(f"The process of {process.name} ended without an answer "
                               f"(exit code {process.exitcode}).") from None
        finally:
            receiver.close()
        process.join()
        if not succeeded:
            raise value
        return value

    return result


def _answer(sender, function, args):
    """In the new process: send `(True, function(*args))`, or `(False, the exception)`."""
    try:
        answer = (True, function(*args))
    except Exception as error:  # sent to the caller, which raises it
        answer = (False, error)
    sender.send(answer)
    sender.close()
