"""A time budget for one letter render, so a pathological input cannot hold a worker (issue 24).

WeasyPrint lays out in Python, so a watchdog thread can stop it: when the budget runs out it
raises `_OutOfTime` inside the rendering thread (PyThreadState_SetAsyncExc), which surfaces at
the next Python bytecode, unwinds the render (its `with` blocks release the render lock) and
becomes a LetterRenderTimeout with a message a person understands. Works on any thread (gunicorn's
main thread, the dev server's threads, the scheduler's pool), unlike SIGALRM. A long single call
into C (one Pango shaping call) is only interrupted when it returns; the length limits on the
free-text fields keep those short.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class _OutOfTime(BaseException):
    """Raised asynchronously in the rendering thread; never escapes `within`."""


class BudgetExceeded(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g} seconds")
        self.seconds = seconds


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> int:
    return int(
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None
        )
    )


class _Watch:
    def __init__(self, thread_id: int) -> None:
        self.thread_id = thread_id
        self.mutex = threading.Lock()
        self.done = False
        self.fired = False

    def fire(self) -> None:
        with self.mutex:
            if not self.done:
                self.fired = _set_async_exc(self.thread_id, _OutOfTime) == 1

    def finish(self) -> bool:
        """Stop watching; True when the budget ran out (a still-pending exception is cleared)."""
        with self.mutex:
            self.done = True
            if self.fired:
                _set_async_exc(self.thread_id, None)
            return self.fired


def within(seconds: float, work: Callable[[], T]) -> T:
    """`work()`, or BudgetExceeded once it has run `seconds` (0 or less: no budget)."""
    if seconds <= 0:
        return work()
    watch = _Watch(threading.get_ident())
    timer = threading.Timer(seconds, watch.fire)
    timer.daemon = True
    timer.start()
    try:
        try:
            result = work()
        finally:
            timer.cancel()
            ran_out = watch.finish()
    except _OutOfTime:
        ran_out = True
    if ran_out:
        raise BudgetExceeded(seconds)
    return result
