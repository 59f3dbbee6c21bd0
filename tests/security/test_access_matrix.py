"""The access matrix: every route of the app × every persona, against the declared policy.

Routes come from `app.url_map`, so a new route is tried automatically, and one without an entry
in tests/security/policy.py fails `test_every_route_has_a_declared_policy`. Each route is
requested with every method it accepts (POSTs with a valid CSRF token and an empty body, or
the minimal body policy.API_BODIES names), URL parameters filled with incident A's objects;
then again with incident B's object ids inside A's URLs (IDOR), which must give 404.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from config import TestConfig
from incident_app import create_app
from tests.security import policy
from tests.security.world import PERSONAS
from tests.security.world import TALLY
from tests.security.world import World

SUITE = "access matrix"
IDOR_PERSONAS = ("privacy_officer", "responder_member", "client_contact")


def _rules() -> list[Rule]:
    app = create_app(TestConfig)
    return sorted(app.url_map.iter_rules(), key=lambda rule: (rule.endpoint, rule.rule))


RULES = _rules()


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def outcome(response: TestResponse, *, api: bool, method: str) -> str:
    """What happened, in the policy's words."""
    status = response.status_code
    location = response.headers.get("Location", "")
    if status in (301, 302, 303, 307, 308) and location.split("?")[0].endswith("/login"):
        return "login"
    named = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
    if status in named:
        return named[status]
    if status < 400 or (status in (400, 409, 422) and (method == "POST" or api)):
        return "allowed"
    return f"status {status}"


def _value(world: World, persona: str, endpoint: str, name: str, source: dict[str, Any]) -> Any:
    key = policy.PARAM_ALIASES.get((endpoint, name), name)
    if name in policy.OWN_PARAMS:
        owner = world.personas[persona if persona != "anonymous" else "privacy_officer"]
        return owner.own[name]
    if name in policy.COMMON_PARAMS:
        return world.common[key]
    if key not in source:
        raise AssertionError(
            f"{endpoint}: no object in the world for URL parameter {name!r}; "
            "add one to tests/security/world.py"
        )
    return source[key]


def build_url(world: World, rule: Rule, persona: str, *, objects_from: str = "a") -> str:
    """`rule` with incident A's id and the objects of A (or of B, for the IDOR probes)."""
    values = dict(rule.defaults or {})
    for name in _url_params(rule):
        source = world.a if name == "incident_id" else getattr(world, objects_from)
        values[name] = _value(world, persona, rule.endpoint, name, source)
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build {rule.rule} from {values}"
    return built[1]


def _url_params(rule: Rule) -> list[str]:
    return sorted(set(rule.arguments) - set(rule.defaults or {}))


UPLOADS = {
    "roster.upload": (
        "roster.csv",
        b"external_id,first_name,last_name,state\r\nX-1,Ana,Lee,NY\r\n",
    ),
    "roster.returns": ("returns.csv", b"external_id\r\nX-1\r\n"),
    "returns.codes": ("codes.csv", b"letter_code\r\nNO-SUCH-CODE\r\n"),
    "clients.baa": ("baa.pdf", b"%PDF-1.4 business associate agreement"),
}


def form_body(world: World, endpoint: str) -> dict[str, Any]:
    """policy.FORM_BODIES[endpoint] with its placeholders and files filled in."""
    body: dict[str, Any] = {}
    for name, value in policy.FORM_BODIES.get(endpoint, {}).items():
        if value == policy.FILE:
            filename, data = UPLOADS.get(endpoint, ("note.txt", b"Carrier letter, page 1."))
            body[name] = (io.BytesIO(data), filename)
        elif isinstance(value, str) and value.startswith("{"):
            body[name] = str(world.a[value.strip("{}")])
        else:
            body[name] = value
    return body


def send(world: World, persona: str, method: str, url: str, endpoint: str) -> TestResponse:
    who = world.personas[persona]
    if endpoint.startswith("api."):
        headers = {"Authorization": f"Bearer {who.api_token}"} if who.api_token else {}
        body = policy.API_BODIES.get(endpoint, {}) if method == "POST" else None
        return world.request(persona, method, url, headers=headers, json=body)
    if method == "POST":
        return world.post_form(persona, url, form_body(world, endpoint))
    return world.request(persona, method, url)


def _check(
    world: World, rule: Rule, persona: str, method: str, url: str, wanted: set[str]
) -> str | None:
    response = send(world, persona, method, url, rule.endpoint)
    got = outcome(response, api=rule.endpoint.startswith("api."), method=method)
    backend = world.app.extensions["engine"].dialect.name
    TALLY.add(SUITE, backend, "requests")
    refused = "allowed" not in wanted and wanted != {"login"} or persona == "anonymous"
    wrote = response.audited if refused and rule.endpoint != "auth.logout" else []
    if got in wanted and not wrote:
        return None
    if refused and (got == "allowed" or wrote):
        TALLY.add(SUITE, backend, "got through")
    return (
        f"{method} {url} as {persona}: expected {'/'.join(sorted(wanted))}, got {got} "
        f"({response.status_code} {response.headers.get('Location', '')})"
        + (f" and the audit trail recorded {wrote}" if wrote else "")
    )


def _idor_wanted(base: set[str]) -> set[str]:
    # Where the persona may act on A, B's object through A's URL must be 404; where it is
    # refused anyway, the refusal may come first.
    return {"not_found"} | (base - {"allowed"})


def _idor_params(rule: Rule) -> list[str]:
    skip = {"incident_id", *policy.OWN_PARAMS, *policy.COMMON_PARAMS, "number"}
    return [name for name in _url_params(rule) if name not in skip]


def _probes(world: World, rule: Rule) -> list[tuple[str, str, str, set[str]]]:
    probes = []
    for method in _methods(rule):
        kind = policy.kind_of(rule.endpoint, method)
        assert kind is not None, f"{rule.endpoint} {method} has no policy"
        for persona in PERSONAS:
            wanted = policy.expected(kind, persona)
            probes.append((persona, method, build_url(world, rule, persona), wanted))
            if persona in IDOR_PERSONAS and _idor_params(rule):
                url = build_url(world, rule, persona, objects_from="b")
                probes.append((persona, method, url, _idor_wanted(wanted)))
            if set(_url_params(rule)) & set(policy.OWN_PARAMS) and persona == "responder_member":
                url = build_url(world, rule, "privacy_officer")
                probes.append((persona, method, url, _idor_wanted(wanted)))
    return probes


def test_every_route_has_a_declared_policy() -> None:
    missing = sorted(
        {
            f"{rule.endpoint} {method}"
            for rule in RULES
            for method in _methods(rule)
            if policy.kind_of(rule.endpoint, method) is None
        }
    )
    assert not missing, (
        f"{len(missing)} route(s) have no declared access policy: {', '.join(missing)}. "
        "Add each endpoint to POLICY in tests/security/policy.py (see the kinds in its "
        "docstring), choosing the stricter reading when in doubt."
    )


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: f"{rule.endpoint}:{rule.rule}")
def test_route_answers_each_persona_as_declared(world: World, rule: Rule) -> None:
    if any(policy.kind_of(rule.endpoint, m) is None for m in _methods(rule)):
        pytest.fail(f"{rule.endpoint} has no declared policy (see the test above)")
    backend = world.app.extensions["engine"].dialect.name
    TALLY.saw(SUITE, backend, "routes", f"{rule.endpoint} {rule.rule}")
    TALLY.saw(SUITE, backend, "personas", *PERSONAS)
    problems = []
    for persona, method, url, wanted in _probes(world, rule):
        problem = _check(world, rule, persona, method, url, wanted)
        if problem:
            problems.append(problem)
    assert not problems, "\n".join(problems)
