"""Peers from OCR's breach portal: parsing, import, ranking, statistics, response actions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.ocr import OcrBreach
from incident_app.models.ocr import OcrBreachTag
from incident_app.models.ocr import TagKind
from incident_app.models.user import Role
from incident_app.services.peers import comparison as peers
from incident_app.services.peers import criteria as peer_criteria
from incident_app.services.peers import distribution as peer_sizes
from incident_app.services.peers import importing as ocr_import
from incident_app.services.peers import ocr_parsing
from incident_app.services.peers.criteria import PeerCriteria
from incident_app.services.peers.ocr_parsing import BadRow
from tests.support.factories import NOW
from tests.support.factories import make_user

DATA = Path(__file__).resolve().parents[2] / "data"
QUIRKS = DATA / "ocr_quirks.csv"
PEERS = DATA / "ocr_peers.csv"
HK = "Hacking/IT Incident"


def _import(session, path: Path) -> ocr_import.ImportReport:
    return ocr_import.import_file(session, path=path, actor=None, actor_label="test", now=NOW)


def _by_name(session, name: str) -> list[OcrBreach]:
    return list(
        session.scalars(
            sa.select(OcrBreach).where(OcrBreach.entity_name == name).order_by(OcrBreach.id)
        )
    )


# ---------------------------------------------------------------- pure parsing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3659", 3659),
        (" 1,200 ", 1200),
        ("", None),
        ("   ", None),
        ("500", 500),
    ],
)
def test_parse_count_accepts_digits_thousands_separators_and_blank(raw, expected) -> None:
    assert ocr_parsing.parse_count(raw) == expected


@pytest.mark.parametrize("raw", ["about 1000", "-5", "1.5", "１２", "99999999999"])
def test_parse_count_rejects_anything_else(raw) -> None:
    with pytest.raises(BadRow, match="Individuals Affected"):
        ocr_parsing.parse_count(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06/28/2024", date(2024, 6, 28)),
        ("2/7/2024", date(2024, 2, 7)),
        (" 10/21/2009 ", date(2009, 10, 21)),
    ],
)
def test_parse_date_reads_ocr_month_day_year(raw, expected) -> None:
    assert ocr_parsing.parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2024-06-28", "28/06/2024", "13/45/2020", ""])
def test_parse_date_rejects_other_forms(raw) -> None:
    with pytest.raises(BadRow, match="MM/DD/YYYY"):
        ocr_parsing.parse_date(raw)


def test_split_multi_splits_on_commas_trims_and_drops_repeats() -> None:
    assert ocr_parsing.split_multi("Desktop Computer, Laptop,Network Server, Laptop, ", "x") == [
        "Desktop Computer",
        "Laptop",
        "Network Server",
    ]
    assert ocr_parsing.split_multi("", "x") == []


# ---------------------------------------------------------------- pure classifier

ACTION_TABLE = [
    (
        "The CE provided affected individuals with 12 months of free credit monitoring.",
        ["credit_monitoring"],
    ),
    ("The CE offered identity theft protection services.", ["credit_monitoring"]),
    ("The employee was terminated.", ["workforce_sanctioned"]),
    ("The CE terminated the employee involved.", ["workforce_sanctioned"]),
    ("The employees involved were sanctioned.", ["workforce_sanctioned"]),
    ("The CE terminated its contract with the business associate.", ["business_associate"]),
    ("All staff were retrained on HIPAA.", ["retrained"]),
    ("Staff had not received security training.", []),
    ("The stolen laptop was not encrypted.", []),
    ("The unencrypted laptop was stolen from a car.", []),
    ("The CE implemented full-disk encryption on all laptops.", ["encryption"]),
    ("Encrypted email was in use.", []),
    ("OCR found that the CE had failed to conduct an accurate risk analysis.", []),
    ("The CE conducted a new risk analysis.", ["risk_analysis"]),
    ("The CE enabled multi-factor authentication for remote access.", ["mfa"]),
    ("The hacker used a stolen password.", []),
    ("All users were required to reset their passwords.", ["passwords"]),
    ("The CE notified law enforcement and the FBI.", ["law_enforcement"]),
    ("A police report was filed.", ["law_enforcement"]),
    ("The CE implemented additional technical safeguards.", ["safeguards"]),
    ("The CE revised its policies and procedures.", ["policies_revised"]),
    ("OCR provided technical assistance to the CE.", ["ocr_technical_assistance"]),
    ("The PHI included names and dates of birth.", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), ACTION_TABLE)
def test_actions_in_classifies_one_sentence(text, expected) -> None:
    assert ocr_parsing.actions_in(text) == expected


def test_actions_in_reads_every_sentence_and_reports_in_table_order() -> None:
    text = (
        "The laptop was not encrypted. Afterwards the CE encrypted all laptops, notified "
        "the police and offered credit monitoring."
    )

    assert ocr_parsing.actions_in(text) == ["credit_monitoring", "encryption", "law_enforcement"]
    assert ocr_parsing.sentences_for(text, "encryption") == [
        "Afterwards the CE encrypted all laptops, notified the police and offered credit "
        "monitoring."
    ]


def test_split_sentences_keeps_abbreviations_inside_a_sentence() -> None:
    text = "Acme Inc. reported a breach.  Dr. Smith was  sanctioned."
    assert ocr_parsing.split_sentences(text) == [
        "Acme Inc. reported a breach.",
        "Dr. Smith was sanctioned.",
    ]


# ---------------------------------------------------------------- pure statistics


def test_summarise_gives_quartiles_by_linear_interpolation() -> None:
    summary = peer_sizes.summarise([25000, 3400, 12000, 9000], missing=2)

    assert (summary.count, summary.minimum, summary.maximum) == (4, 3400, 25000)
    assert (summary.q1, summary.median, summary.q3, summary.p90) == (7600, 10500, 15250, 21100)
    assert summary.missing == 2 and summary.at_floor == 0
    assert [b.count for b in summary.bins] == [0, 1, 1, 2, 0, 0, 0]


def test_summarise_bins_and_floor_count() -> None:
    summary = peer_sizes.summarise([500, 500, 999, 1000, 49_999, 50_000, 999_999, 1_000_000])

    assert [b.count for b in summary.bins] == [3, 1, 0, 1, 1, 1, 1]
    assert summary.at_floor == 2 and summary.median == 25_500


def test_summarise_of_nothing_is_empty_not_an_error() -> None:
    summary = peer_sizes.summarise([])

    assert summary.count == 0 and summary.median is None
    assert sum(b.count for b in summary.bins) == 0


def test_share_at_or_below() -> None:
    assert peer_sizes.share_at_or_below([3400, 9000, 12000, 25000], 10000) == 0.5
    assert peer_sizes.share_at_or_below([], 10000) is None


# ---------------------------------------------------------------- import


def test_import_handles_each_quirk_and_reports_broken_rows_by_line(session) -> None:
    report = _import(session, QUIRKS)

    assert (report.inserted, report.updated, report.duplicates) == (8, 0, 1)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (6, "Breach Submission Date '13/45/2020' is not a date in the form MM/DD/YYYY"),
        (7, "Individuals Affected 'about 1000' is not a whole number"),
        (10, "expected 10 fields, found 8"),
        (14, "Business Associate Present 'Maybe' is neither Yes nor No"),
    ]
    harbor = _by_name(session, "Harbor Clinic")[0]  # trailing spaces trimmed
    assert harbor.breach_types == [HK, "Theft"]
    assert harbor.locations == ["Laptop", "Network Server"]
    assert harbor.individuals_affected == 1200 and harbor.business_associate_present is True
    assert harbor.web_description == "A laptop was stolen. The CE provided credit monitoring."
    assert harbor.actions == ["credit_monitoring"] and harbor.flags == []
    isla = _by_name(session, "Isla Health")[0]
    assert isla.state is None and isla.flags == ["text_damaged"]
    assert "\ufffd" in isla.web_description
    giant = _by_name(session, "Giant Clearing Corp")[0]
    assert giant.flags == ["count_floor"] and giant.submitted_on == date(2024, 2, 7)
    assert giant.portal_list == "Under Investigation" and giant.web_description is None
    quiet = _by_name(session, "Quiet Pharmacy")[0]
    assert quiet.individuals_affected is None and quiet.web_description is None
    assert quiet.flags == ["count_missing"]
    assert _by_name(session, "Two Line Dental")[0].actions == ["retrained"]
    assert _by_name(session, "Echo Clinic")[0].flags == ["ocr_duplicate"]


def test_repeated_filings_stay_separate_rows_and_are_marked(session) -> None:
    _import(session, QUIRKS)

    twins = _by_name(session, "Twin Filing Center")
    assert [t.breach_types for t in twins] == [["Unauthorized Access/Disclosure"], ["Theft"]]
    assert [t.repeated_filing for t in twins] == [True, True]
    assert _by_name(session, "Harbor Clinic")[0].repeated_filing is False


def test_tags_mirror_the_lists_for_filtering(session) -> None:
    _import(session, QUIRKS)

    harbor = _by_name(session, "Harbor Clinic")[0]
    tags = session.execute(
        sa.select(OcrBreachTag.kind, OcrBreachTag.value).where(OcrBreachTag.breach_id == harbor.id)
    ).all()
    assert sorted(tags) == sorted(
        [
            (TagKind.BREACH_TYPE, HK),
            (TagKind.BREACH_TYPE, "Theft"),
            (TagKind.LOCATION, "Laptop"),
            (TagKind.LOCATION, "Network Server"),
            (TagKind.ACTION, "credit_monitoring"),
        ]
    )


def test_import_twice_adds_nothing_and_audits_each_run(session) -> None:
    _import(session, QUIRKS)
    again = _import(session, QUIRKS)

    assert (again.inserted, again.updated, again.unchanged, again.duplicates) == (0, 0, 8, 1)
    assert session.scalar(sa.select(sa.func.count()).select_from(OcrBreach)) == 8
    events = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [(e.action, e.details["inserted"], e.details["rejected"]) for e in events] == [
        ("ocr.imported", 8, 4),
        ("ocr.imported", 0, 4),
    ]
    assert events[0].details["rejected_lines"] == [6, 7, 10, 14]


def test_a_newer_snapshot_updates_rows_whose_portal_list_changed(session, tmp_path) -> None:
    _import(session, QUIRKS)
    newer = tmp_path / "newer.csv"
    newer.write_text(
        QUIRKS.read_text(encoding="utf-8").replace('"Under Investigation"', '"Archive"'),
        encoding="utf-8",
    )

    report = _import(session, newer)

    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 7)
    assert _by_name(session, "Giant Clearing Corp")[0].portal_list == "Archive"


def test_a_file_without_the_portal_list_column_imports(session, tmp_path) -> None:
    plain = tmp_path / "ocr.csv"
    plain.write_text(
        ",".join(f'"{c}"' for c in ocr_parsing.OCR_COLUMNS) + "\n"
        '"Solo Clinic","VT","Healthcare Provider","777","01/02/2023","Theft","Laptop","No",""\n',
        encoding="utf-8",
    )

    report = _import(session, plain)

    assert report.inserted == 1 and _by_name(session, "Solo Clinic")[0].portal_list is None


def test_a_file_that_is_not_ocr_listing_is_refused_and_nothing_written(session, tmp_path):
    wrong = tmp_path / "roster.csv"
    wrong.write_text("first_name,last_name,state\nAda,Lovelace,NY\n", encoding="utf-8")

    with pytest.raises(ValidationFailed, match="not the header of OCR's breach listing"):
        _import(session, wrong)

    assert session.scalar(sa.select(sa.func.count()).select_from(OcrBreach)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_unreadable_csv_is_refused_naming_the_line_and_nothing_written(session, tmp_path):
    broken = tmp_path / "huge.csv"  # a 200,000-character field: past csv's field size limit
    broken.write_text(
        QUIRKS.read_text(encoding="utf-8") + '"' + "x" * 200_000 + '","VT"\n', encoding="utf-8"
    )

    with pytest.raises(
        ValidationFailed,
        match=r"Line 16: the file cannot be read as CSV "
        r"\(field larger than field limit",
    ):
        _import(session, broken)

    assert session.scalar(sa.select(sa.func.count()).select_from(OcrBreach)) == 0


def test_a_missing_file_is_a_clear_error(session, tmp_path) -> None:
    with pytest.raises(ValidationFailed, match="No such file"):
        _import(session, tmp_path / "nope.csv")


# ---------------------------------------------------------------- comparable breaches

OURS = {
    "breach_types": [HK],
    "locations": ["Email"],
    "entity_type": "Healthcare Provider",
    "affected": 10_000,
}


def _names(page: peers.ComparablePage) -> list[str]:
    return [peer.breach.entity_name.split()[0] for peer in page.peers]


def test_strictest_tier_same_type_location_entity_within_factor_three(session) -> None:
    _import(session, PEERS)

    page = peers.comparable_breaches(session, **OURS, min_peers=3)

    # Juliet (OCR duplicate), Delta (×4), Echo (plan), Foxtrot (theft), Golf (server) left out.
    assert _names(page) == ["Alpha", "Bravo", "Charlie", "Kilo"]
    assert page.total == 4 and not page.widened
    assert page.criteria_text == (
        "same type of breach, same location, same type of entity, "
        "3,334–30,000 individuals (within ×3)"
    )
    assert page.peers[0].same_location and page.peers[0].same_entity
    assert page.peers[0].size_ratio == pytest.approx(0.9)


def test_widens_the_size_band_before_dropping_criteria(session) -> None:
    _import(session, PEERS)

    page = peers.comparable_breaches(session, **OURS, min_peers=5)

    assert _names(page) == ["Alpha", "Bravo", "Charlie", "Kilo", "Delta"]
    assert page.widened and page.tier == peer_criteria.Tier(True, True, 10)


def test_then_drops_the_entity_type_ranking_full_matches_first(session) -> None:
    _import(session, PEERS)

    page = peers.comparable_breaches(session, **OURS, min_peers=6)

    # Echo has exactly our count but another entity type: after every full match.
    assert _names(page) == ["Alpha", "Bravo", "Charlie", "Kilo", "Delta", "Echo"]
    assert page.tier == peer_criteria.Tier(True, False, 10)


def test_broadest_tier_keeps_the_type_and_puts_missing_counts_last(session) -> None:
    _import(session, PEERS)

    page = peers.comparable_breaches(session, **OURS, min_peers=8)

    assert _names(page) == [
        "Alpha",
        "Bravo",
        "Charlie",
        "Kilo",
        "Delta",
        "Hotel",
        "India",
        "Echo",
        "Golf",
    ]
    assert page.tier == peer_criteria.Tier(False, False, None)


def test_limit_and_offset_page_through_the_ranking(session) -> None:
    _import(session, PEERS)

    second = peers.comparable_breaches(session, **OURS, min_peers=8, limit=4, offset=4)

    assert _names(second) == ["Delta", "Hotel", "India", "Echo"] and second.total == 9


def test_without_size_or_location_the_most_recent_come_first(session) -> None:
    _import(session, PEERS)

    page = peers.comparable_breaches(session, breach_types=["Theft"])

    assert _names(page) == ["Foxtrot", "Kilo"]
    assert page.criteria_text == "same type of breach"


def test_a_count_below_one_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="at least 1"):
        PeerCriteria.of(affected=0)


# ---------------------------------------------------------------- sizes and actions


def test_size_distribution_over_the_comparable_set_and_everything(session) -> None:
    _import(session, PEERS)

    sizes = peers.size_distribution(session, **OURS, min_peers=3)

    comparable = sizes.comparable
    assert (comparable.count, comparable.minimum, comparable.median, comparable.maximum) == (
        4,
        3400,
        10500,
        25000,
    )
    assert sizes.share_at_or_below == 0.5
    overall = sizes.overall  # every row but Juliet (OCR duplicate); India has no count
    assert (overall.count, overall.missing, overall.at_floor) == (9, 1, 1)
    assert (
        overall.minimum,
        overall.q1,
        overall.median,
        overall.q3,
        overall.p90,
        overall.maximum,
    ) == (500, 9000, 10000, 12000, 28000, 40000)


def test_response_actions_count_breaches_and_quote_the_sentence(session) -> None:
    _import(session, PEERS)

    summary = peers.response_actions(session, **OURS, min_peers=3)

    assert summary.described == 3  # Kilo has no narrative
    assert [(a.code, a.breaches) for a in summary.actions] == [
        ("credit_monitoring", 1),
        ("workforce_sanctioned", 1),
        ("retrained", 1),
        ("policies_revised", 1),
        ("mfa", 1),
        ("law_enforcement", 1),
    ]
    mfa = next(a for a in summary.actions if a.code == "mfa")
    assert [(e.entity_name, e.submitted_on, e.sentence) for e in mfa.examples] == [
        (
            "Bravo Medical",
            date(2022, 1, 1),
            "In response, the CE implemented multi-factor "
            "authentication and revised its policies and procedures.",
        )
    ]
    assert "encryption" not in [a.code for a in summary.actions]  # "was not encrypted"


def test_peer_report_needs_an_active_account(session) -> None:
    _import(session, PEERS)
    inactive = make_user(session, role=Role.PRIVACY_OFFICER, active=False)

    with pytest.raises(NotAllowed):
        peers.peer_report(session, actor=inactive, criteria=PeerCriteria())


def test_peer_report_clamps_a_page_past_the_end(session) -> None:
    _import(session, PEERS)
    user = make_user(session, role=Role.RESPONDER)

    report = peers.peer_report(
        session, actor=user, criteria=PeerCriteria(), page=10**20, per_page=4
    )

    assert report.page.offset == 8 and len(report.page.peers) == 2  # 10 rows, last page
    assert report.imported == 11


def test_filter_choices_come_from_the_data(session) -> None:
    _import(session, QUIRKS)

    choices = peers.filter_choices(session)

    assert choices["type"] == [HK, "Loss", "Theft", "Unauthorized Access/Disclosure"]
    assert choices["entity"] == ["Business Associate", "Health Plan", "Healthcare Provider"]
    assert "Paper/Films" in choices["location"]
