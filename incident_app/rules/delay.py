"""Law-enforcement delay of notices, 45 CFR 164.412.

The rule says how long to delay, not how the 60-day outer limit is recomputed
(REGULATORY.md §1.9). Default (end-of-delay) model: the deadline becomes the later of the
original date and the end of the delay. The tolling reading (original deadline + length of the
delay) is always shown beside it in the obligation's detail, never applied silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from incident_app.rules.facts import LawEnforcementDelay

# 164.412(b): "no longer than 30 days from the date of the oral statement".
ORAL_LIMIT = timedelta(days=30)


@dataclass(frozen=True)
class DelayWindow:
    starts_on: date
    ends_on: date
    basis: str
    warnings: tuple[str, ...] = ()

    @property
    def length(self) -> timedelta:
        return self.ends_on - self.starts_on


def delay_window(delay: LawEnforcementDelay) -> DelayWindow:
    """When the delay a law-enforcement statement imposes ends, 164.412(a) and (b)."""
    if delay.statement == "written":
        assert delay.delay_until is not None  # LawEnforcementDelay guarantees it
        return DelayWindow(
            delay.stated_on,
            delay.delay_until,
            f"written statement of {delay.stated_on}: delay for the period it specifies, until "
            f"{delay.delay_until} (164.412(a))",
        )
    return _oral_window(delay)


def _oral_window(delay: LawEnforcementDelay) -> DelayWindow:
    limit = delay.stated_on + ORAL_LIMIT
    written = delay.written_received_on
    if written is not None and written <= limit:
        # A written statement "submitted during that time" replaces the 30-day cap.
        assert delay.delay_until is not None  # LawEnforcementDelay guarantees it
        return DelayWindow(
            delay.stated_on,
            delay.delay_until,
            f"oral statement of {delay.stated_on} followed by a written statement on {written}, "
            f"within 30 days: delay until {delay.delay_until} (164.412(a), (b))",
        )
    warnings = [_oral_record_warning(delay, limit)]
    if written is not None:
        warnings.append(_late_written_warning(delay, limit))
    ends_on = limit
    if written is None and delay.delay_until is not None:
        # An oral statement cannot delay notice beyond 30 days, but may ask for less.
        ends_on = min(delay.delay_until, limit)
        if delay.delay_until > limit:
            warnings.append(
                f"Law-enforcement delay: the oral statement asked for a delay until "
                f"{delay.delay_until}, but an oral statement delays notice for at most 30 days "
                f"(until {limit}) unless a written statement arrives by then (164.412(b))."
            )
    return DelayWindow(
        delay.stated_on,
        ends_on,
        f"oral statement of {delay.stated_on}: delay until {ends_on}, at most 30 days (164.412(b))",
        tuple(warnings),
    )


def _oral_record_warning(delay: LawEnforcementDelay, limit: date) -> str:
    return (
        f"Law-enforcement delay: document the oral statement of {delay.stated_on} (official's "
        f"name, agency, contact, what was said) per 164.412(b); the delay lapses on {limit} "
        "unless a written statement specifying a period is received by then."
    )


def _late_written_warning(delay: LawEnforcementDelay, limit: date) -> str:
    # The written statement arrived after the oral 30 days ran out, so it does not extend the
    # oral delay under 164.412(b). Whether it starts a fresh 164.412(a) delay for notices not yet
    # given is a question for counsel; the stricter reading is used for the deadlines.
    return (
        f"Law-enforcement delay: the written statement of {delay.written_received_on} arrived "
        f"after the oral statement's 30 days ended ({limit}), so deadlines use the oral delay "
        f"only. If counsel treats it as a new 164.412(a) statement, notices could be delayed "
        f"until {delay.delay_until}."
    )


def delayed_due(original: date, window: DelayWindow | None) -> tuple[date, dict[str, str]]:
    """A HIPAA deadline after the delay, with the tolling reading recorded in the detail."""
    if window is None:
        return original, {}
    detail = {
        "original_due_on": original.isoformat(),
        "law_enforcement_delay_ends_on": window.ends_on.isoformat(),
        "delay_model": "end_of_delay: later of the original deadline and the end of the delay",
    }
    if original < window.starts_on:
        # The statement came after this deadline had already passed: nothing to delay.
        detail["law_enforcement_delay"] = "statement made after this deadline; not extended"
        return original, detail
    detail["tolling_reading_due_on"] = (original + window.length).isoformat()
    return max(original, window.ends_on), detail
