"""Attack tests: stored XSS, CSRF, SQL injection, IDOR through the API, path traversal,
WeasyPrint fetches, oversized inputs and open redirects, against the real app and database.

The payloads are stored through the real forms into one module-wide world (incident A of
tests/security/world.py), then every GET page of the app is rendered and read back.
"""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from incident_app.db import get_session
from incident_app.models.evidence import EvidenceFile
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.user import User
from tests.security import policy
from tests.security.test_access_matrix import RULES
from tests.security.test_access_matrix import build_url
from tests.security.test_access_matrix import form_body
from tests.security.world import TALLY
from tests.security.world import World
from tests.support.factories import PASSWORD

SUITE = "attacks"
SCRIPT = '<script>alert("bd-xss")</script>'
ATTRIBUTE = '"><img src=x onerror=alert("bd-xss")>'
TEMPLATE = "{{ 7*191 }}zq ${7*191}zq"
JS_URL = 'javascript:alert("bd-xss")'
XSS = f"{SCRIPT} {ATTRIBUTE} {TEMPLATE}"
# What must never appear in an HTML page: the payloads as markup, or a template evaluated.
NEVER = ('<script>alert("bd-xss")', "<img src=x onerror", "1337zq", 'href="javascript:')
SQLI = (
    "' OR '1'='1",
    "1; DROP TABLE incident; --",
    '" OR 1=1 --',
    '%\' UNION SELECT password_hash FROM "user" --',
    "1) OR (1=1",
    "\\'; SELECT 1; --",
)


def _backend(world: World) -> str:
    return world.app.extensions["engine"].dialect.name


def _post(world: World, persona: str, url: str, data: dict) -> int:
    """A POST that persists for the whole module (no savepoint): stores a payload."""
    who = world.personas[persona]
    response = who.client.post(url, data={"csrf_token": who.csrf, **data})
    if response.status_code == 302:
        who.client.get(response.headers["Location"])  # shows (and so clears) the flash
    cookie = who.client.get_cookie("breachdesk_session")
    who.cookie = cookie.value if cookie is not None else who.cookie
    return response.status_code


def _stuffing(world: World) -> dict[str, tuple[str, str, dict]]:
    """(persona, url, body) per free-text form, every text field carrying the payload."""
    a = f"/incidents/{world.a['incident_id']}"
    return {
        "intake": (
            "privacy_officer",
            "/incidents/new",
            {
                "title": XSS[:190],
                "description": XSS,
                "how_found": XSS,
                "reported_by": XSS[:190],
                "discovered_by": XSS[:190],
                "systems_involved": XSS,
                "occurred_zone": "UTC",
                "discovered_on": "2025-09-15",
                "affected_estimate": "3",
                "le_notes": XSS,
            },
        ),
        "facts": (
            "privacy_officer",
            f"{a}/facts",
            {
                "title": XSS[:190],
                "description": XSS,
                "how_found": XSS,
                "systems_involved": XSS,
                "occurred_zone": "America/Chicago",
                "discovered_on": "2025-09-15",
                "affected_estimate": "1204",
                "diligence_justification": XSS,
            },
        ),
        "statement": (
            "privacy_officer",
            f"{a}/law-enforcement",
            {
                "le_form": "written",
                "le_stated_on": "2025-09-20",
                "le_delay_until": "2025-10-20",
                "le_official_name": XSS[:190],
                "le_agency": XSS[:190],
                "le_notes": XSS,
            },
        ),
        "timeline": (
            "privacy_officer",
            f"{a}/timeline",
            {"occurred_at": "2026-02-20T09:30", "category": "containment", "text": XSS},
        ),
        "task": (
            "privacy_officer",
            f"{a}/tasks",
            {"title": XSS[:290], "notes": XSS, "assignee_id": "", "status": "open"},
        ),
        "wording": (
            "privacy_officer",
            f"{a}/letters/wording",
            {
                "what_happened": XSS,
                "steps_for_individuals": XSS,
                "what_we_are_doing": XSS,
                "media_contact": XSS[:290],
                "covered_entity_type": "Healthcare Provider",
                "es_what_happened": XSS,
            },
        ),
        "cost": (
            "privacy_officer",
            f"{a}/impact/costs",
            {
                "category": "outside_counsel",
                "basis": "actual",
                "amount": "10.00",
                "currency": "USD",
                "spent_on": "2026-02-03",
                "vendor": XSS[:190],
                "invoice_reference": JS_URL,
                "description": XSS,
            },
        ),
        "outage": (
            "privacy_officer",
            f"{a}/impact/disruptions",
            {
                "kind": "billing_halt",
                "system": XSS[:190],
                "started_at": "2026-02-01T08:00",
                "notes": XSS,
            },
        ),
        "action": (
            "privacy_officer",
            f"{a}/actions",
            {
                "ocr_code": "",
                "title": XSS[:190],
                "owner_id": str(world.a["spare_id"]),
                "due_on": "2026-04-01",
                "details": XSS,
            },
        ),
        "training": (
            "privacy_officer",
            f"{a}/training",
            {"trainee": XSS[:190], "trained_on": "2026-02-10", "topic": XSS[:290]},
        ),
        "review": (
            "privacy_officer",
            f"{a}/review",
            {
                "timeline_summary": XSS,
                "root_cause": XSS,
                "what_worked": XSS,
                "what_did_not": XSS,
                "decisions": XSS,
            },
        ),
        "settings": (
            "admin",
            "/admin/settings",
            {
                "legal_name": XSS[:190],
                "address_line1": XSS[:100],
                "city": "Springfield",
                "state": "IL",
                "postal_code": "62701",
                "toll_free_number": "1-800-555-0142",
                "email": "privacy@riverbend.example",
                "website": "https://riverbend.example/n",
                "signatory_name": XSS[:100],
                "signatory_title": "Privacy Officer",
                "timezone": "America/Chicago",
            },
        ),
        "user": (
            "admin",
            "/admin/users/new",
            {
                "email": "xss@example.org",
                "name": XSS[:190],
                "role": "responder",
                "how": "password",  # the creator sets it (an emailed invitation is the default)
                "password": PASSWORD,
                "confirm": PASSWORD,
            },
        ),
    }


@pytest.fixture(scope="module")
def stuffed(world: World) -> World:
    refused = {}
    for name, (persona, url, body) in _stuffing(world).items():
        status = _post(world, persona, url, body)
        if status != 302:
            refused[name] = status
        TALLY.saw(
            SUITE,
            _backend(world),
            "stored-XSS fields",
            *(
                f"{name}.{field}"
                for field, value in body.items()
                if value in (JS_URL,) or "bd-xss" in str(value)
            ),
        )
    assert not refused, f"the payload forms were not accepted (status per form): {refused}"
    return world


def test_a_javascript_url_is_refused_as_the_website(world: World) -> None:
    body = dict(_stuffing(world)["settings"][2], website=JS_URL)
    response = world.post_form("admin", "/admin/settings", body)
    assert "The website must start with https://." in response.get_data(as_text=True)
    assert response.audited == []


def _pages(world: World) -> Iterator[tuple[str, str]]:
    for rule in RULES:
        if "GET" not in (rule.methods or ()) or rule.endpoint.startswith("api."):
            continue
        if rule.endpoint in ("static", "notifications.feed"):
            continue
        for persona in ("privacy_officer", "admin"):
            if "allowed" in policy.expected(policy.kind_of(rule.endpoint, "GET"), persona):
                yield persona, build_url(world, rule, persona)


def test_stored_xss_never_comes_back_as_markup(stuffed: World) -> None:
    world, leaks, pages = stuffed, [], 0
    with world.app.app_context():
        new_id = get_session().scalar(sa.select(sa.func.max(Incident.id)))
    extra = [
        ("privacy_officer", f"/incidents/{new_id}"),
        ("privacy_officer", "/incidents/"),
        ("privacy_officer", f"/incidents/{new_id}/facts"),
        ("admin", "/admin/users"),
    ]
    for persona, url in [*_pages(world), *extra]:
        response = world.request(persona, "GET", url, follow_redirects=True)
        assert response.status_code < 500 or url == "/readyz", (
            f"{url} as {persona}: {response.status_code}"
        )
        if response.mimetype != "text/html":
            continue
        pages += 1
        text = response.get_data(as_text=True)
        leaks += [f"{url} ({persona}): {needle}" for needle in NEVER if needle in text]
    TALLY.add(SUITE, _backend(world), "pages rendered", pages)
    assert not leaks, "\n".join(leaks)
    assert pages > 60


def test_the_payload_reaches_the_letter_pdf_only_as_text(stuffed: World) -> None:
    world = stuffed
    a = world.a["incident_id"]
    body = dict(form_body(world, "letters.generate"), template_name="individual_minor.html")
    assert _post(world, "privacy_officer", f"/incidents/{a}/letters/generate", body) == 302
    pdf = _latest_pdf(world, "individual_minor.html")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "bd-xss" in text and "alert(" in text  # printed as words
    assert "1337zq" not in text


def _latest_pdf(world: World, template: str) -> bytes:
    with world.app.app_context():
        letter = (
            get_session()
            .scalars(
                sa.select(Letter).where(
                    Letter.incident_id == world.a["incident_id"], Letter.template_name == template
                )
            )
            .one()
        )
        version = letter.current_version
        url = f"/incidents/{letter.incident_id}/letters/{letter.id}/versions/{version.id}.pdf"
    response = world.request("privacy_officer", "GET", url)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    return response.data


# --- WeasyPrint fetches ------------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Recorder.hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_case_text_cannot_make_weasyprint_fetch_anything(world: World, listener: str) -> None:
    fetches = [
        '<img src="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/passwd">',
        f'<img src="{listener}/img.png">',
        f'<link rel="stylesheet" href="{listener}/a.css">',
        f'<img src="{listener}/redirect">',
        f'<style>@import url("{listener}/i.css");</style>',
        '<img src="../../../../etc/passwd">',
    ]
    a = world.a["incident_id"]
    wording = {
        "what_happened": " ".join(fetches),
        "steps_for_individuals": fetches[1],
        "what_we_are_doing": fetches[3],
        "covered_entity_type": "Healthcare Provider",
    }
    assert _post(world, "privacy_officer", f"/incidents/{a}/letters/wording", wording) == 302
    generate = dict(form_body(world, "letters.generate"), template_name="individual_deceased.html")
    assert _post(world, "privacy_officer", f"/incidents/{a}/letters/generate", generate) == 302
    pdf = _latest_pdf(world, "individual_deceased.html")

    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "file:///etc/passwd" in text and listener in text  # the payload was printed as text
    assert _Recorder.hits == []
    assert reader.attachments == {}
    assert b"root:x:0:0" not in pdf
    TALLY.saw(SUITE, _backend(world), "fetch payloads", *fetches)


# --- CSRF --------------------------------------------------------------------------------------


def test_every_post_without_a_token_is_refused_and_changes_nothing(world: World) -> None:
    accepted = []
    for rule in RULES:
        if "POST" not in (rule.methods or ()) or rule.endpoint.startswith("api."):
            continue
        persona = (
            "anonymous"
            if rule.endpoint in ("auth.login", "auth.second_factor")
            else "privacy_officer"
            if "allowed"
            in policy.expected(policy.kind_of(rule.endpoint, "POST"), "privacy_officer")
            else "admin"
        )
        url = build_url(world, rule, persona)
        body = form_body(world, rule.endpoint)
        response = world.request(persona, "POST", url, data=body)
        TALLY.saw(SUITE, _backend(world), "CSRF-less POST routes", rule.endpoint)
        if response.status_code != 400 or response.audited:
            accepted.append(f"{url} as {persona}: {response.status_code} {response.audited}")
    assert not accepted, "\n".join(accepted)


# --- SQL injection in filters and searches -----------------------------------------------------


def _search_urls(world: World, payload: str) -> list[tuple[str, str]]:
    q, a = quote(payload), world.a["incident_id"]
    incident_args = (
        "q",
        "status",
        "breach_type",
        "sort",
        "order",
        "discovered_from",
        "due_within",
        "page",
    )
    return [
        *[("privacy_officer", f"/incidents/?{name}={q}") for name in incident_args],
        *[
            ("auditor", f"/audit/?{name}={q}")
            for name in ("actor", "action", "incident", "date_from", "date_to", "page")
        ],
        ("auditor", f"/audit/export.csv?actor={q}&action={q}"),
        *[
            ("privacy_officer", f"/peers?{name}={q}")
            for name in ("entity", "affected", "state", "breach_type", "location", "page")
        ],
        ("privacy_officer", f"/incidents/{a}/roster/people?external_id={q}&page={q}"),
        ("privacy_officer", f"/impact?date_from={q}&date_to={q}"),
        ("privacy_officer", f"/reports/metrics?date_from={q}"),
    ]


@pytest.mark.parametrize("payload", SQLI)
def test_sql_injection_in_filters_and_searches_finds_nothing(world: World, payload: str) -> None:
    failures = []
    with world.app.app_context():
        references = list(get_session().scalars(sa.select(Incident.reference)))
    for persona, url in _search_urls(world, payload):
        response = world.request(persona, "GET", url)
        if response.status_code >= 500:
            failures.append(f"{url}: {response.status_code}")
    listed = world.request("privacy_officer", "GET", f"/incidents/?q={quote(payload)}")
    failures += [
        f"q={payload!r} listed {ref}" for ref in references if ref in listed.get_data(as_text=True)
    ]
    people = world.request(
        "privacy_officer",
        "GET",
        f"/incidents/{world.a['incident_id']}/roster/people?external_id={quote(payload)}",
    )
    if f"P-{world.a['incident_id']}-1" in people.get_data(as_text=True):
        failures.append(f"external_id={payload!r} listed a person")
    token = world.personas["responder_member"].api_token
    for query in (f"status={quote(payload)}", f"page={quote(payload)}"):
        api = world.request(
            "responder_member",
            "GET",
            f"/api/v1/incidents?{query}",
            headers={"Authorization": f"Bearer {token}"},
        )
        if api.status_code >= 500 or (api.status_code == 200 and api.json["total"] > 1):
            failures.append(f"API ?{query}: {api.status_code}")
    TALLY.saw(SUITE, _backend(world), "SQL payloads", payload)
    assert not failures, "\n".join(failures)


# --- IDOR through the API ----------------------------------------------------------------------


def test_api_ids_of_an_incident_off_the_team_are_not_found(world: World) -> None:
    token = world.personas["responder_member"].api_token
    headers = {"Authorization": f"Bearer {token}"}
    b = world.b["incident_id"]
    for method, url, body in (
        ("GET", f"/api/v1/incidents/{b}", None),
        ("GET", f"/api/v1/incidents/{b}/timeline", None),
        ("GET", f"/api/v1/incidents/{b}/determination", None),
        ("POST", f"/api/v1/incidents/{b}/timeline", policy.API_BODIES["api.timeline_create"]),
        ("GET", f"/api/v1/incidents/{2**40}", None),
    ):
        response = world.request("responder_member", method, url, headers=headers, json=body)
        assert response.status_code == 404, url
        assert response.audited == []
    listed = world.request("responder_member", "GET", "/api/v1/incidents", headers=headers)
    assert [item["id"] for item in listed.json["items"]] == [world.a["incident_id"]]


# --- path traversal in file names --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.txt",
        "..\\..\\windows\\win.ini.txt",
        "evil\x00.txt",
        "/etc/cron.d/job.txt",
        "....//....//x.txt",
        "%2e%2e%2fsecret.txt",
    ],
)
def test_evidence_file_names_cannot_leave_the_store(world: World, name: str) -> None:
    root = world.app.config["FILE_STORE_DIR"].parent
    before = {p for p in root.rglob("*")}
    who = world.personas["privacy_officer"]
    url = f"/incidents/{world.a['incident_id']}/evidence"
    response = who.client.post(
        url,
        data={
            "csrf_token": who.csrf,
            "description": "x",
            "file": (io.BytesIO(name.encode() + b" text"), name),
        },
    )
    assert response.status_code in (302, 422)
    with world.app.app_context():
        stored = (
            get_session()
            .scalars(sa.select(EvidenceFile.filename).order_by(EvidenceFile.id.desc()))
            .first()
        )
    assert not any(c in stored for c in "/\\\x00") and not stored.startswith(".")
    new = {p for p in root.rglob("*")} - before
    store = world.app.config["FILE_STORE_DIR"]
    assert all(store in p.parents for p in new), new
    TALLY.saw(SUITE, _backend(world), "traversal names", name)


# --- oversized input ---------------------------------------------------------------------------


def test_a_very_long_field_gets_a_form_error(world: World) -> None:
    body = dict(_stuffing(world)["intake"][2], title="A" * 20_000, description="B" * 30_000)
    response = world.post_form("privacy_officer", "/incidents/new", body)
    assert response.status_code == 422
    assert "longer than 200 characters" in response.get_data(as_text=True)
    assert response.audited == []


def test_a_body_over_the_limit_gets_the_413_page(world: World) -> None:
    big = io.BytesIO(b"x" * (world.app.config["MAX_CONTENT_LENGTH"] + 1024))
    response = world.post_form(
        "privacy_officer",
        f"/incidents/{world.a['incident_id']}/evidence",
        {"file": (big, "big.txt")},
    )
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)
    assert response.audited == []


# --- open redirects ----------------------------------------------------------------------------

NEXT = (
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "%2F%2Fevil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "///evil.example",
    "/%09/evil.example",
    " //evil.example",
)


@pytest.mark.parametrize("target", NEXT)
def test_next_never_leaves_the_site(world: World, target: str) -> None:
    with world.app.app_context():
        email = get_session().get(User, world.personas["privacy_officer"].user.id).email
    response = world.request(
        "anonymous",
        "POST",
        f"/login?next={quote(target, safe='')}",
        data={"email": email, "password": PASSWORD, "csrf_token": world.personas["anonymous"].csrf},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    # How a browser reads it: tabs and newlines dropped, backslashes as slashes.
    seen = urlsplit(location.translate({9: None, 10: None, 13: None}).replace("\\", "/").strip())
    assert seen.netloc in ("", "localhost") and seen.scheme in ("", "http"), location
    TALLY.saw(SUITE, _backend(world), "open-redirect encodings", target)


def test_ids_too_large_for_the_database_are_404_not_500(world: World) -> None:
    wrong = []
    for rule in RULES:
        if "GET" not in (rule.methods or ()) or "int:" not in rule.rule:
            continue
        url = build_url(world, rule, "privacy_officer")
        huge = (
            url.replace(f"/{world.a['incident_id']}/", f"/{2**40}/", 1)
            if f"/{world.a['incident_id']}/" in url
            else url.rstrip("/") + "0000000000000"
        )
        response = world.request("privacy_officer", "GET", huge)
        if response.status_code != 404:
            wrong.append(f"{huge}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
