"""Work in a second Python process while this one goes on.

`start(function, *args)` runs `function(*args)` in a fresh interpreter (the "spawn"
start method: no copy of this process's TensorFlow threads) and returns a callable
that waits for the result. Training fits its n-gram teacher this way, beside the
vocabulary, tokens and n-gram counts, which a thread cannot do: the teacher's
tokenizing holds the GIL, and beside it in a thread that other work took 15.0 s
instead of 6.1 s, against 6.8 s beside a second process (docs/results.md, "The
teacher's features and where it runs").

The second process is a daemon: Python ends it when this one exits (after Ctrl-C
too; it ignores Ctrl-C itself, which is this process's to report). It prints nothing
of its own (its stdout would bypass any redirection of this process's), so the
caller reports. As with any spawned process, Python imports the caller's main script
in it again, so a script that starts one keeps its work under
`if __name__ == "__main__":` (train.py and the `sentiment-lstm` command do).
"""
import multiprocessing
import signal
import threading
import traceback


def start(function, *args):
    """Start `function(*args)` in a new process; `function` and `args` must pickle. The
    arguments go to it from a thread, so the caller goes on while they are sent.

    Returns:
        A callable, to call once: it waits for the process and returns what `function`
        returned, or raises what it raised (with the other process's traceback as a note).

    Example:

    >>> result = start(divmod, 7, 2)
    >>> result()
    (3, 1)
    """
    context = multiprocessing.get_context("spawn")
    task_receiver, task_sender = context.Pipe(duplex=False)
    answer_receiver, answer_sender = context.Pipe(duplex=False)
    name = f"background {getattr(function, '__name__', 'work')}"
    process = context.Process(target=_answer, args=(task_receiver, answer_sender), daemon=True, name=name)
    process.start()
    task_receiver.close()  # the child holds its own copies of its two ends
    answer_sender.close()
    threading.Thread(target=_send, args=(task_sender, (function, args)), daemon=True, name=f"{name}: task").start()

    def result():
        try:
            succeeded, value, trace = answer_receiver.recv()
        except Exception as error:  # EOFError: it ended without an answer; else its answer did not unpickle
            process.join()
            raise RuntimeError(f"The process of {name} ended without an answer (exit code {process.exitcode}).") \
                from (None if isinstance(error, EOFError) else error)
        finally:
            answer_receiver.close()
        process.join()
        if not succeeded:
            value.add_note(f"In the process of {name}:\n{trace}")
            raise value
        return value

    return result


def _send(sender, task):
    """Send `task` down `sender`, then close it; a process that died first is reported by `result`."""
    try:
        sender.send(task)
    except OSError:  # BrokenPipeError: the process ended before reading it
        pass
    finally:
        sender.close()


def _answer(tasks, answers):
    """In the new process: receive `(function, args)`, send `(True, function(*args), None)`,
    or `(False, the exception, its traceback)`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the caller stops, and Python ends this daemon
    try:
        function, args = tasks.recv()
        answer = (True, function(*args), None)
    except Exception as error:
        answer = (False, error, traceback.format_exc())
    try:
        answers.send(answer)
    except Exception as error:  # an answer or an exception that does not pickle
        answers.send((False, RuntimeError(f"Its answer could not be sent back: {error}"), traceback.format_exc()))
    answers.close()
