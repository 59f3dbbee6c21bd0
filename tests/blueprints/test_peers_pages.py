"""The peers page: signed-in users only, query-string filters, hostile input shown back safely."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.ocr import OcrBreach
from incident_app.models.ocr import OcrBreachTag
from incident_app.models.ocr import TagKind
from incident_app.models.user import Role
from incident_app.services.peers import importing as ocr_import
from tests.support.factories import NOW
from tests.support.factories import make_user

DATA = Path(__file__).resolve().parents[1] / "data"
OURS = "/peers?type=Hacking%2FIT+Incident&location=Email&entity=Healthcare+Provider&affected=10000"


@pytest.fixture
def auditor(app):
    with app.app_context():
        session = get_session()
        ocr_import.import_file(
            session, path=DATA / "ocr_peers.csv", actor=None, actor_label="test", now=NOW
        )
        return make_user(session, role=Role.AUDITOR)


def _text(response) -> str:
    return response.get_data(as_text=True)


def _rows(html: str) -> list[str]:
    """Entity names in the comparable-breaches table, in order."""
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>\s*<td>([^<\n]+)", table)


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get("/peers")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_signed_in_user_sees_ranked_peers_sizes_and_actions(client, auth, auditor) -> None:
    auth.login(auditor.email)

    response = client.get(OURS)

    html = _text(response)
    assert response.status_code == 200
    # Fewer than 10 fixture rows match: the criteria widen to the type only, any size.
    assert _rows(html)[:5] == [
        "Alpha Health",
        "Bravo Medical",
        "Charlie Care",
        "Kilo Partners",
        "Delta Doctors",
    ]
    assert "The criteria were widened" in html
    assert "<caption>Comparable breaches, closest first (page 1 of 1)</caption>" in html
    assert 'role="img" aria-labelledby="chart-title chart-desc"' in html
    assert html.count(">Your breach</text>") == 1  # 10,000 falls in one band
    assert "1.2× yours" in html and "yours ÷ 1.1" in html  # Bravo 12,000; Alpha 9,000
    assert "<caption>Size distribution (individuals affected)</caption>" in html
    assert "Offered credit monitoring or identity protection" in html
    assert "The CE provided complimentary credit monitoring." in html
    assert "possibly a placeholder" in html  # Hotel Practice: exactly 500
    assert "Juliet" not in html  # OCR's own duplicate note: left out
    assert 'href="/peers"' in html and ">Peers</a>" in html  # the menu entry
    assert ' style="' not in html  # the CSP forbids inline styles


def test_filters_are_kept_checked_and_in_the_pagination_links(app, client, auth, auditor):
    with app.app_context():  # 30 more Email hacking rows so there are two pages
        session = get_session()
        for n in range(30):
            session.add(
                OcrBreach(
                    row_key=f"{n:064d}",
                    content_hash="0" * 64,
                    filing_key=f"{n:064d}",
                    entity_name=f"Extra {n:02d}",
                    state="IL",
                    entity_type="Healthcare Provider",
                    individuals_affected=20_000 + n,
                    submitted_on=NOW.date(),
                    breach_types=["Hacking/IT Incident"],
                    locations=["Email"],
                    business_associate_present=False,
                    actions=[],
                    flags=[],
                    tags=[
                        OcrBreachTag(kind=TagKind.BREACH_TYPE, value="Hacking/IT Incident"),
                        OcrBreachTag(kind=TagKind.LOCATION, value="Email"),
                    ],
                )
            )
        session.commit()
    auth.login(auditor.email)

    html = _text(client.get(OURS))

    assert re.search(
        r'<input checked id="location-\d+" name="location" type="checkbox" '
        r'value="Email">',
        html,
    )
    assert "page 1 of 2" in html
    next_link = re.search(r'href="(/peers\?[^"]*)">Next page', html).group(1)
    assert "page=2" in next_link and "affected=10000" in next_link
    assert "entity=Healthcare+Provider" in next_link
    second = _text(client.get(next_link.replace("&amp;", "&")))
    assert "page 2 of 2" in second


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (
            "entity=%27%3B+DROP+TABLE+ocr_breach%3B--",
            "“&#39;; DROP TABLE ocr_breach;--” is not a type of covered entity in OCR&#39;s data.",
        ),
        (
            "type=Theft%27+OR+%271%27%3D%271",
            "“Theft&#39; OR &#39;1&#39;=&#39;1” is not a type of breach in OCR&#39;s data.",
        ),
        (
            "location=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "“&lt;script&gt;alert(1)&lt;/script&gt;” is not a location in OCR&#39;s data.",
        ),
        (
            "affected=1+OR+1%3D1",
            "“1 OR 1=1” is not a whole number of individuals (digits only, for example 1200).",
        ),
        ("affected=0", "Individuals affected must be between 1 and 2,147,483,647."),
    ],
)
def test_hostile_filters_are_shown_back_escaped_and_change_nothing(
    app, client, auth, auditor, query, shown
) -> None:
    auth.login(auditor.email)

    response = client.get(f"/peers?{query}")

    html = _text(response)
    assert response.status_code == 200
    assert shown in html
    assert "<script>alert" not in html
    assert html.count(shown) == 1  # one message per field, not two
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(OcrBreach)) == 11


def test_a_page_number_that_is_not_a_number_shows_the_first_page(client, auth, auditor) -> None:
    auth.login(auditor.email)

    response = client.get("/peers?page=abc%27--")

    assert response.status_code == 200 and "(page 1 of 1)" in _text(response)


def test_before_any_import_the_page_says_how_to_import(app, client, auth) -> None:
    with app.app_context():
        user = make_user(get_session(), role=Role.LEGAL)
    auth.login(user.email)

    html = _text(client.get("/peers"))

    assert "No OCR data has been imported yet" in html
    assert "flask --app wsgi ocr import" in html
