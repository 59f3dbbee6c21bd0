"""Waiting on a condition instead of sleeping a fixed time: a test waits exactly as long as the
thing it waits for takes, and a timeout names what never happened."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.05,
    message: str = "the condition never held",
) -> T:
    """Call `predicate` every `interval` seconds until it returns something truthy, and return
    that. An assertion inside `predicate` fails the wait at once; after `timeout` seconds
    without a truthy value, AssertionError(`message`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (waited {timeout:g} s)")
        time.sleep(interval)
