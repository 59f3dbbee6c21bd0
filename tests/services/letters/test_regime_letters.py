"""Letters of the regimes beyond HIPAA, generated from the case, read back from the PDF, and
taken through legal review: state regulators, consumer reporting agencies, the FTC rule, GDPR
Art. 33/34, SEC Item 1.05 and the 42 CFR Part 2 mirrors."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import ValidationFailed
from incident_app.letters import pdf_text
from incident_app.models.incident import CaseRole
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.user import Role
from incident_app.services.letters import generation
from incident_app.services.letters import review
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation
from tests.support.regime_letter_factories import facts
from tests.support.regime_letter_factories import gdpr_facts
from tests.support.regime_letter_factories import persist
from tests.support.regime_letter_factories import write_wording

LATER = NOW + timedelta(hours=1)
EQUIFAX = ("Equifax Information Services LLC", ("P.O. Box 105069", "Atlanta, GA 30348"))
RESIDENTS = {"IL": 1150, "WI": 54, "MN": 1200, "UT": 600}


@pytest.fixture
def people(session):
    return make_user(session, role=Role.PRIVACY_OFFICER), make_user(session, role=Role.LEGAL)


@pytest.fixture
def case(session, people):
    officer, legal = people
    incident = breach_case(
        session, officer=officer, members={legal: CaseRole.LEGAL}, residents=RESIDENTS
    )
    write_wording(session, incident)
    return incident


def _generate(session, actor, incident, ob, template, name="", address=()):
    return generation.generate(
        session,
        actor=actor,
        now=NOW,
        incident_id=incident.id,
        request=generation.LetterRequest(ob.id, template, name, tuple(address)),
        store=app_store.current_store(),
    )


def _text(letter):
    return " ".join(pdf_text(app_store.read_verified(letter.current_version.sha256)).split())


def _review_and_approve(session, officer, legal, incident, letter):
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=incident.id, letter_id=letter.id
    )
    return review.approve(
        session,
        actor=legal,
        now=LATER,
        incident_id=incident.id,
        letter_id=letter.id,
        store=app_store.current_store(),
        expected_sha256=letter.current_version.sha256,
    )


def _letters(session):
    return session.scalar(sa.select(sa.func.count()).select_from(Letter))


# ---- state regulators -----------------------------------------------------------------------


def test_other_regulator_letter_is_addressed_to_the_rows_office_and_cites_its_statute(
    session, people, case
):
    officer, _ = people
    ob = obligation(session, case, "state_regulator_notice", "UT")
    assert ob.detail["recipient"] == "other_regulator"

    letter = _generate(
        session, officer, case, ob, "state_ag.html", address=["601 W. Example Ave", "SLC, UT"]
    )

    text = _text(letter)
    # The addressee defaults to the row's recipient_name, without the table's remark.
    assert "Dear Utah Cyber Center:" in text
    assert "gives notice to the Utah Cyber Center under" in text
    assert "Utah Code 13-44-202" in text
    assert "600 Utah residents" in text


def test_attorney_general_letter_keeps_working(session, people, case):
    officer, _ = people
    ob = obligation(session, case, "state_regulator_notice", "IL")
    letter = _generate(
        session,
        officer,
        case,
        ob,
        "state_ag.html",
        "Office of the Illinois Attorney General",
        ["100 W. Randolph Street", "Chicago, IL 60601"],
    )
    text = _text(letter)
    assert "815 ILCS 530/50" in text and "1,150 Illinois residents" in text


# ---- consumer reporting agencies ------------------------------------------------------------


def test_cra_notice_needs_the_timing_of_the_resident_notices(session, people, case):
    officer, _ = people
    ob = obligation(session, case, "cra_notice", "MN")
    with pytest.raises(ValidationFailed, match="planned mailing date") as error:
        _generate(session, officer, case, ob, "cra_notice.html", *EQUIFAX)
    assert error.value.field == "residents_mailing_on"
    session.rollback()
    assert _letters(session) == 0


def test_cra_notice_prints_numbers_timing_distribution_and_content_and_is_approved(
    session, people, case
):
    officer, legal = people
    write_wording(session, case, residents_mailing_on=date(2026, 3, 9))
    ob = obligation(session, case, "cra_notice", "MN")

    letter = _generate(session, officer, case, ob, "cra_notice.html", *EQUIFAX)

    text = _text(letter)
    assert "Minn. Stat. 325E.61, subd. 2" in text
    assert "1,200 Minnesota residents" in text and "3,004 people in total" in text
    assert "planned to be mailed on March 9, 2026" in text
    assert "First-class mail" in text
    assert "Date of birth" in text and "stolen from a car" in text
    assert "Copies to: Experian, TransUnion" in text
    assert "Equifax Information Services LLC" in text
    approved = _review_and_approve(session, officer, legal, case, letter)
    assert approved.status is LetterStatus.APPROVED
    assert approved.approved_version.sha256 == letter.current_version.sha256


# ---- FTC Health Breach Notification Rule ----------------------------------------------------


def test_ftc_notice_packet_prints_the_form_fields(session, people, case):
    officer, _ = people
    (ob,) = persist(session, case, facts(entity_role="phr_vendor"), "ftc_notice")

    letter = _generate(session, officer, case, ob, "ftc_notice.html")

    text = _text(letter)
    assert "Notice to the FTC of a breach of security (16 CFR 318.5(c))" in text
    for expected in (
        "Riverbend Community Health",
        "Date of discovery September 15, 2025",
        "Number of individuals affected 3,004",
        "IL: 1,150",
        "Theft",
        "Laptop",
        "Who acquired the information An unknown thief",
        "November 14, 2025",  # discovery + 60 days
    ):
        assert expected in text, expected


def test_ftc_annual_log_is_this_breachs_entry_for_the_year(session, people, case):
    officer, _ = people
    small = facts(entity_role="phr_vendor", affected_total=40, residents_by_state={"IL": 40})
    (ob,) = persist(session, case, small, "ftc_annual_log")

    text = _text(_generate(session, officer, case, ob, "ftc_notice.html"))

    assert "FTC breach log entry for 2025" in text
    assert "March 1, 2026" in text  # 60 days after the end of 2025


def test_vendor_notice_asks_for_an_acknowledgment(session, people, case):
    officer, _ = people
    (ob,) = persist(
        session, case, facts(entity_role="third_party_service_provider"), "vendor_notice"
    )
    letter = _generate(
        session, officer, case, ob, "vendor_notice.html", "HealthTrack Inc.", ["1 Main St"]
    )
    text = _text(letter)
    assert "16 CFR 318.3(b)" in text and "Acknowledgment of receipt" in text
    assert "3,004" in text


# ---- GDPR -----------------------------------------------------------------------------------


def _gdpr_case(session, incident, aware_at=None, **gdpr):
    aware_at = aware_at or datetime(2026, 3, 1, 9, tzinfo=UTC)
    gdpr.setdefault("high_risk", True)
    incident.eu_data_subjects = 40
    incident.gdpr_aware_at = aware_at
    incident.gdpr_high_risk = gdpr["high_risk"]
    session.commit()
    return facts(gdpr=gdpr_facts(aware_at, **gdpr))


def test_gdpr_record_prints_the_art_33_3_items_and_the_72_hours_in_utc(session, people, case):
    officer, legal = people
    (ob,) = persist(session, case, _gdpr_case(session, case), "supervisory_authority_notice")

    letter = _generate(session, officer, case, ob, "gdpr_art33.html")

    text = _text(letter)
    for expected in (
        "Became aware of the breach March 1, 2026, 09:00 UTC",
        "72 hours end March 4, 2026, 09:00 UTC",
        "(a) Nature of the personal data breach",
        "stolen from a car",
        "Categories of data subjects Patients; Patients' relatives",
        "Approximate number of data subjects 40",
        "Approximate number of personal data records 1,300",
        "(b) Data protection officer or other contact point",
        "Dr. Lena Vogt",
        "(c) Likely consequences of the breach",
        "identity fraud",
        "(d) Measures taken or proposed",
        "encrypting every laptop",
    ):
        assert expected in text, expected
    assert "later than 72 hours" not in text
    approved = _review_and_approve(session, officer, legal, case, letter)
    assert approved.status is LetterStatus.APPROVED


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gdpr_contact_point", ""),
        ("gdpr_consequences", []),
        ("gdpr_subject_categories", []),
        ("gdpr_records", None),
    ],
)
def test_gdpr_record_names_the_missing_art_33_3_item(session, people, case, field, value):
    officer, _ = people
    (ob,) = persist(session, case, _gdpr_case(session, case), "supervisory_authority_notice")
    write_wording(session, case, **{field: value})

    with pytest.raises(ValidationFailed, match=r"Art\. 33\(3\)") as error:
        _generate(session, officer, case, ob, "gdpr_art33.html")

    assert error.value.field == field
    session.rollback()
    assert _letters(session) == 0


def test_a_late_gdpr_record_requires_and_prints_the_reasons_for_delay(session, people, case):
    officer, _ = people
    late = _gdpr_case(session, case, aware_at=datetime(2026, 2, 20, 8, tzinfo=UTC))
    (ob,) = persist(session, case, late, "supervisory_authority_notice")

    with pytest.raises(ValidationFailed, match="reasons for the delay") as error:
        _generate(session, officer, case, ob, "gdpr_art33.html")
    assert error.value.field == "gdpr_delay_reasons"
    session.rollback()

    write_wording(session, case, gdpr_delay_reasons="The EU roster was only found on day 9.")
    text = _text(_generate(session, officer, case, ob, "gdpr_art33.html"))
    assert "later than 72 hours after awareness" in text
    assert "The EU roster was only found on day 9." in text
    assert "February 23, 2026, 08:00 UTC" in text


def test_processor_notice_to_the_controller_uses_the_processor_variant(session, people, case):
    officer, _ = people
    processor = _gdpr_case(session, case, controller=False)
    (ob,) = persist(session, case, processor, "processor_to_controller_notice")

    letter = _generate(
        session,
        officer,
        case,
        ob,
        "gdpr_art33_processor.html",
        "Klinikum Example GmbH",
        ["Beispielstraße 1", "10115 Berlin", "Germany"],
    )

    text = _text(letter)
    assert "acting as your processor" in text and "Article 33(2)" in text
    assert "(c) Likely consequences of the breach" in text
    assert "Klinikum Example GmbH" in text


def test_data_subject_communication_is_a_plain_language_letter(session, people, case):
    officer, legal = people
    (ob,) = persist(session, case, _gdpr_case(session, case), "data_subject_notice")

    letter = _generate(session, officer, case, ob, "gdpr_data_subject.html")

    text = _text(letter)
    assert "What this may mean for you" in text and "identity fraud" in text
    assert "Dr. Lena Vogt" in text and "encrypting every laptop" in text
    assert letter.current_version.missing_elements == []
    assert _review_and_approve(session, officer, legal, case, letter).status is (
        LetterStatus.APPROVED
    )


# ---- SEC and Part 2 -------------------------------------------------------------------------


def test_sec_worksheet_is_marked_as_a_worksheet_for_counsel(session, people, case):
    officer, _ = people
    case.materiality_determined_on = date(2026, 2, 26)
    session.commit()
    (ob,) = persist(
        session, case, facts(materiality_determined_on=date(2026, 2, 26)), "sec_8k_notice"
    )

    text = _text(_generate(session, officer, case, ob, "sec_8k_worksheet.html"))

    assert "WORKSHEET FOR COUNSEL — NOT A FILING" in text
    assert "Determined to be material February 26, 2026" in text
    assert "Form 8-K due March 4, 2026" in text
    assert "USD 2.1 million" in text


def test_sec_worksheet_needs_the_materiality_date(session, people, case):
    officer, _ = people
    (ob,) = persist(
        session, case, facts(materiality_determined_on=date(2026, 2, 26)), "sec_8k_notice"
    )
    with pytest.raises(ValidationFailed, match="material") as error:
        _generate(session, officer, case, ob, "sec_8k_worksheet.html")
    assert error.value.field == "materiality_determined_on"


@pytest.mark.parametrize(
    ("kind", "template", "citation"),
    [
        ("part2_individual_notice", "individual_adult.html", "42 CFR 2.16(a); 45 CFR 164.404"),
        ("part2_hhs_notice", "hhs_packet.html", "42 CFR 2.16(a); 45 CFR 164.408"),
    ],
)
def test_part2_mirrors_use_the_hipaa_templates_and_print_the_part2_citation(
    session, people, case, kind, template, citation
):
    officer, _ = people
    (ob,) = persist(session, case, facts(discovered_on=date(2026, 2, 20), part2_records=True), kind)

    text = _text(_generate(session, officer, case, ob, template))

    assert "42 CFR Part 2" in text and citation in text


# ---- the wording these documents print ------------------------------------------------------


def test_the_new_wording_is_saved_and_audited_and_bad_input_is_refused(session, people, case):
    from incident_app.services.letters import notice_wording

    officer, _ = people
    values = {
        "what_happened": "A laptop was stolen.",
        "gdpr_contact_point": "DPO, dpo@riverbend.example",
        "gdpr_subject_categories": "Patients\nStaff\n",
        "gdpr_records": 12,
        "gdpr_consequences": "Identity fraud",
        "gdpr_delay_reasons": "",
        "sec_material_impact": "None expected.",
        "acquired_by": "Unknown",
        "residents_mailing_on": date(2026, 3, 9),
    }
    with pytest.raises(ValidationFailed, match="whole number") as error:
        notice_wording.save_wording(
            session,
            actor=officer,
            now=NOW,
            incident_id=case.id,
            values={**values, "gdpr_records": -1},
        )
    assert error.value.field == "gdpr_records"
    session.rollback()

    wording = notice_wording.save_wording(
        session, actor=officer, now=NOW, incident_id=case.id, values=values
    )

    assert wording.gdpr_subject_categories == ["Patients", "Staff"]
    assert wording.gdpr_records == 12
    assert wording.residents_mailing_on == date(2026, 3, 9)
    _, again = notice_wording.wording_of(session, actor=officer, incident_id=case.id)
    assert again.gdpr_contact_point == "DPO, dpo@riverbend.example"
