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
    """Raises _OutOfTime in the watched thread when the budget runs out, and again every
    REARM_SECONDS until `finish`: an asynchronous exception that lands inside a finaliser (a
    __del__ or weakref callback the garbage collector runs mid-render) is swallowed there."""

    REARM_SECONDS = 0.05

    def __init__(self, thread_id: int, seconds: float) -> None:
        self.thread_id = thread_id
        self.mutex = threading.Lock()
        self.done = False
        self.fired = False
        self._timer = self._start(seconds)

    def _start(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self.fire)
        timer.daemon = True
        timer.start()
        return timer

    def fire(self) -> None:
        with self.mutex:
            if self.done:
                return
            self.fired = _set_async_exc(self.thread_id, _OutOfTime) == 1 or self.fired
            self._timer = self._start(self.REARM_SECONDS)

    def finish(self) -> bool:
        """Stop watching; True when the budget ran out (a still-pending exception is cleared)."""
        with self.mutex:
            self.done = True
            self._timer.cancel()
            if self.fired:
                _set_async_exc(self.thread_id, None)
            return self.fired


def within(seconds: float, work: Callable[[], T]) -> T:
    """`work()`, or BudgetExceeded once it has run `seconds` (0 or less: no budget)."""
    if seconds <= 0:
        return work()
    watch = _Watch(threading.get_ident(), seconds)
    ran_out = False
    try:
        result = work()
    except _OutOfTime:
        ran_out = True
    finally:
        while True:  # an _OutOfTime may land here too, until finish() has run
            try:
                ran_out = watch.finish() or ran_out
                break
            except _OutOfTime:
                ran_out = True
    if ran_out:
        raise BudgetExceeded(seconds)
    return result
