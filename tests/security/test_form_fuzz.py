"""Every HTML form of the app, fuzzed with hostile values: no answer may be a 5xx (issue 24 §2).

The forms are found the way a person finds them: every GET page of the app is opened as the
privacy officer and as the administrator (URLs filled with incident A's objects, as in the
access matrix) and each `<form method="post">` is read with its fields and their shown values.
A blank required-looking field gets a plausible value, so the hostile value reaches the service
behind the form and not only the form's own validators. Hypothesis then posts each form with one
to three of its fields replaced by hostile values (dates past 9999, integers past 2**63, 300
characters where a time-zone name goes, control characters, CRs, ...). Every request runs in a
rolled-back SAVEPOINT (World.request), so examples do not disturb one another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.security.test_access_matrix import RULES
from tests.security.test_access_matrix import build_url
from tests.security.world import TALLY
from tests.security.world import World

SUITE = "form fuzz"
PERSONAS = ("privacy_officer", "admin", "legal_member", "client_contact", "anonymous")
# Forms that end the persona's own session or sign-in factor: they answer 302 whatever is sent.
SKIP_ACTIONS = ("/logout",)
# POST endpoints whose form the world does not show (their tests post them directly).
NOT_SHOWN = {
    "admin.user_reset_mfa": "no user in the world has MFA to reset",
    "admin.user_invite": "shown for accounts without a password; posted in "
    "tests/blueprints/test_invitation_pages.py",
    "clients.resend_invitation": "shown for contacts without a password; posted in "
    "tests/blueprints/test_invitation_pages.py",
    "clients.notice_discard": "shown on drafts only; the world's client notices are sent",
    "clients.notice_redraft": "shown on drafts only; the world's client notices are sent",
    "clients.notice_sent": "shown on drafts only; the world's client notices are sent",
    "assessment.recompute": "shown only when the stored deadlines differ from the rules",
    "auth.logout": "skipped: it ends the persona's session",
    "auth.second_factor": "shown only in the middle of an MFA sign-in",
    "enrolment.export": "shown once the incident has a code pool (a pool would void the world's "
    "approved letters); a CSRF button, posted in tests/blueprints/test_enrolment_pages.py",
    "enrolment.offer": "shown once the incident has a code pool (as enrolment.export); posted "
    "with good and bad values in tests/blueprints/test_enrolment_pages.py",
    "letters.approve": "the world's letters are past review",
    "letters.approve_together": "the world's letters are past review (nothing awaits approval)",
    "letters.request_changes": "the world's letters are past review",
    "letters.submit": "the world's letters are past review",
    "mailmerge.start": "posted only from the confirmation page (mailmerge.confirm), fuzzed",
    "roster.import_cancel": "the world's roster import is committed",
    "roster.import_mapping": "the world's roster import is committed",
}
HOSTILE = [
    "9999-12-31",
    "9999-12-31T23:59",
    "0001-01-01",
    "0001-01-01T00:00",
    "2026-02-30",
    "-1",
    "0",
    str(2**31),
    str(2**63),
    str(-(2**63) - 1),
    "9" * 400,
    "1e309",
    "NaN",
    "A" * 300,
    "../../../../etc/passwd",
    "\x00",
    "a\rb",
    "\r\n\r\n",
    "\u202e\u0000\ufeff",
    "'; DROP TABLE incidents; --",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "x" * 25_000,
    " ",
]
HOSTILE_VALUES = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40), st.integers().map(str))


# Hostile values by the kind of field they go into (every field gets each of its kind's).
BY_KIND = {
    "date": ["9999-12-31", "0001-01-01"],
    "datetime-local": ["9999-12-31T23:59", "0001-01-01T00:00"],
    "number": [str(2**63), str(-(2**63) - 1)],
    "choice": [str(2**63), "A" * 300],
    "text": ["A" * 300, "../a\rb\x00c"],
}
KINDS = {"select": "choice", "checkbox": "choice", "radio": "choice", "hidden": "choice"}


@dataclass
class Form:
    persona: str
    page: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> values to send
    kinds: dict[str, str] = field(default_factory=dict)

    def label(self) -> str:
        return f"{self.persona} POST {self.action} (form on {self.page})"


@dataclass
class _Field:
    kind: str
    required: bool = False
    values: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    """The POST forms of a page: action and, per field name, its kind and shown values."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[tuple[str, dict[str, _Field]]] = []
        self._fields: dict[str, _Field] | None = None
        self._select: _Field | None = None
        self._textarea: _Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._fields = {}
            self.forms.append((urljoin(self.page, a.get("action") or self.page), self._fields))
            return
        if self._fields is None:
            return
        if tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.values.append(a.get("value", ""))
            return
        self._field(tag, a)

    def _field(self, tag: str, a: dict[str, str]) -> None:
        assert self._fields is not None
        name = a.get("name")
        if not name or name == "csrf_token":
            return
        kind = a.get("type", "text").lower() if tag == "input" else tag
        if kind in ("submit", "button", "image", "reset", "file"):
            return
        spec = self._fields.setdefault(name, _Field(kind, required="required" in a))
        if kind in ("checkbox", "radio"):
            spec.options.append(a.get("value", "on"))
            if "checked" in a:
                spec.values.append(a.get("value", "on"))
        elif tag == "select":
            self._select = spec
        elif tag == "textarea":
            self._textarea = spec
            spec.values.append("")
        else:
            spec.values.append(a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.values[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select":
            if self._select is not None and not self._select.values and self._select.options:
                self._select.values.append(self._select.options[0])  # as a browser sends it
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _plausible(name: str, spec: _Field) -> str:
    """A value a person would type into a blank required field of this kind."""
    if spec.options:
        return next((o for o in spec.options if o), spec.options[0])
    if spec.kind == "date":
        return "2026-02-15"
    if spec.kind == "datetime-local":
        return "2026-02-15T09:30"
    if spec.kind == "number":
        return "3"
    if spec.kind == "email" or "email" in name:
        return "fuzz@example.org"
    return "Fuzz value"


def _forms_on(world: World, persona: str, url: str) -> list[Form]:
    response = world.request(persona, "GET", url)
    if response.status_code != 200 or "html" not in response.content_type:
        return []
    parser = _FormParser(url)
    parser.feed(response.get_data(as_text=True))
    found = []
    for action, specs in parser.forms:
        path = urlsplit(action).path
        if path.startswith(SKIP_ACTIONS):
            continue
        form = Form(persona, url, path)
        for name, spec in specs.items():
            shown = [v.lstrip("\r\n") for v in spec.values if v.strip()]
            if not shown and spec.required:
                shown = [_plausible(name, spec)]
            form.fields[name] = shown
            form.kinds[name] = KINDS.get(spec.kind, spec.kind)
        found.append(form)
    return found


def _discover(world: World) -> list[Form]:
    forms: dict[tuple[str, tuple[str, ...]], Form] = {}
    for rule in RULES:
        if "GET" not in (rule.methods or ()) or rule.endpoint.startswith(("api.", "static")):
            continue
        for persona in PERSONAS:
            try:
                url = build_url(world, rule, persona)
            except AssertionError:
                continue
            for form in _forms_on(world, persona, url):
                key = (re.sub(r"\d+", "N", form.action), tuple(sorted(form.fields)))
                forms.setdefault(key, form)
    return list(forms.values())


@pytest.fixture(scope="module")
def forms(world: World) -> list[Form]:
    found = _discover(world)
    assert len(found) > 40, f"only {len(found)} forms found"
    return found


def _post(world: World, form: Form, changes: dict[str, str]) -> int:
    data: dict[str, Any] = {"csrf_token": world.personas[form.persona].csrf}
    data.update(form.fields)
    data.update(changes)
    return world.request(form.persona, "POST", form.action, data=data).status_code


def test_the_forms_found_cover_every_post_endpoint(world: World, forms: list[Form]) -> None:
    adapter = world.app.url_map.bind("localhost")
    reached = {adapter.match(form.action, method="POST")[0] for form in forms}
    posts = {
        rule.endpoint
        for rule in RULES
        if "POST" in (rule.methods or ()) and not rule.endpoint.startswith("api.")
    }
    backend = world.app.extensions["engine"].dialect.name
    TALLY.add(SUITE, backend, "POST endpoints reached", len(posts & reached))
    assert posts - reached <= set(NOT_SHOWN), sorted(posts - reached - set(NOT_SHOWN))


def test_every_form_answers_its_plain_values_without_a_server_error(
    world: World, forms: list[Form]
) -> None:
    errors = [form.label() for form in forms if _post(world, form, {}) >= 500]
    backend = world.app.extensions["engine"].dialect.name
    TALLY.add(SUITE, backend, "forms", len(forms))
    assert not errors, "\n".join(errors)


def test_every_field_of_every_form_takes_its_kind_of_hostile_values(
    world: World, forms: list[Form]
) -> None:
    backend = world.app.extensions["engine"].dialect.name
    errors = []
    for form in forms:
        for name, kind in sorted(form.kinds.items()):
            for value in BY_KIND.get(kind, BY_KIND["text"]):
                TALLY.add(SUITE, backend, "hostile posts")
                TALLY.add(SUITE, backend, "hostile values")
                if _post(world, form, {name: value}) >= 500:
                    errors.append(f"{form.label()} with {name}={value!r:.60}")
    assert not errors, f"{len(errors)} server errors:\n" + "\n".join(errors)


FAILURES: list[str] = []


def test_hostile_values_in_any_form_never_give_a_server_error(
    world: World, forms: list[Form]
) -> None:
    FAILURES.clear()
    backend = world.app.extensions["engine"].dialect.name

    @settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # collect every failure, no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def probe(data: st.DataObject) -> None:
        form = data.draw(st.sampled_from(forms))
        if not form.fields:
            return
        names = data.draw(
            st.lists(st.sampled_from(sorted(form.fields)), min_size=1, max_size=3, unique=True)
        )
        changes = {name: data.draw(HOSTILE_VALUES) for name in names}
        TALLY.add(SUITE, backend, "hostile posts")
        TALLY.add(SUITE, backend, "hostile values", len(changes))
        status = _post(world, form, changes)
        if status >= 500:
            FAILURES.append(f"{form.label()} with {changes!r:.300}: {status}")

    probe()
    assert not FAILURES, f"{len(FAILURES)} server errors:\n" + "\n".join(sorted(set(FAILURES)))
