"""The declared access policy: every endpoint of the app → who may reach it.

The access matrix (test_access_matrix.py) requests every route of `app.url_map` as every
persona and compares the outcome with what this table implies. A route missing here fails the
matrix: add its endpoint to POLICY with one of the kinds below (a str for every method, or a
dict per method). Expected outcomes follow README's role table and incident_access:

    public            anyone, signed in or not
    pre_auth          anyone; may send people back to the sign-in page (e.g. /login/mfa)
    probe             anyone; 200 or 503 (readiness)
    sign_out          everyone ends on the sign-in page
    signed_in         any signed-in staff user; anonymous → sign-in redirect
    account           any signed-in user, client contacts too (MFA set-up, own password, home)
    client_portal     the client's own contact (client_contact persona, contact of Elm Clinic);
                      every other persona → 404; anonymous → sign-in redirect
    cap:<capability>  the roles holding that Capability; other roles → 403
    incident_read     whoever may see incident A (every-incident roles + its team); others 404
    incident_work     privacy officers and A's lead/responders; other viewers → 403
    incident_manage   privacy officers and A's lead (the team page); other viewers → 403
    incident_sign     viewers of A holding SIGN_DETERMINATIONS; other viewers → 403
    incident_approve  viewers of A holding APPROVE_LETTERS (or privacy officers when the
                      organisation allows it; it does not in the matrix's world)
    roster_read       PHI: A's team, privacy officers, auditors; admins → 403, non-members 404
    roster_work       roster_read and incident_work
    ics_token         the calendar feed: whoever holds the feed token, no session needed
    api:<kind>        /api/v1 by bearer token; no token → 401; <kind> is one of the above

A client contact (business-associate mode) reaches only `public`, `pre_auth`, `probe`,
`sign_out`, `account` and `client_portal` routes: every other route (and every API route, even
with a valid token) answers 404, which the app audits.
"""

from __future__ import annotations

from incident_app.access import ROLE_CAPABILITIES
from incident_app.access import Capability
from incident_app.models.user import Role

READ, WORK = "incident_read", "incident_work"

POLICY: dict[str, str | dict[str, str]] = {
    # sign-in, account, public probes
    "static": "public",
    "main.healthz": "public",
    "main.readyz": "probe",
    "auth.login": "public",
    "auth.accept_invitation": "public",  # the emailed one-time set-password link
    "auth.second_factor": "pre_auth",
    "auth.logout": "sign_out",
    "auth.mfa_setup": "account",
    "auth.change_password": "account",
    "auth.session_list": "signed_in",
    "auth.session_revoke": "signed_in",
    "tokens.index": "signed_in",
    "tokens.revoke": "signed_in",
    "main.dashboard": "account",  # a client contact is sent on to its portal
    "notifications.index": "signed_in",
    "notifications.mark_read": "signed_in",
    "notifications.mark_all_read": "signed_in",
    "notifications.calendar": "signed_in",
    "notifications.issue_token": "signed_in",
    "notifications.revoke_token": "signed_in",
    "notifications.feed": "ics_token",
    # administration
    "admin.user_list": "cap:manage_users",
    "admin.user_new": "cap:manage_users",
    "admin.user_edit": "cap:manage_users",
    "admin.user_set_active": "cap:manage_users",
    "admin.user_invite": "cap:manage_users",
    "admin.user_reset_mfa": "cap:manage_users",
    "admin.settings": "cap:manage_settings",
    "admin.logo": "cap:manage_settings",
    "notifications.email_status": "cap:manage_settings",
    "notifications.plans": "cap:manage_settings",
    "impact.settings": "cap:manage_settings",
    "incidents.checklist_list": "cap:manage_settings",
    "incidents.checklist_edit": "cap:manage_settings",
    # business-associate mode: the covered-entity client registry
    "clients.index": "cap:manage_clients",
    "clients.new": "cap:manage_clients",
    "clients.edit": "cap:manage_clients",
    "clients.baa": "cap:manage_clients",
    "clients.invite_contact": "cap:manage_clients",
    "clients.resend_invitation": "cap:manage_clients",
    # organisation-wide reading
    "audit.events": "cap:view_audit",
    "audit.export_csv": "cap:view_audit",
    "audit.export_json": "cap:view_audit",
    "calculator.index": "cap:use_calculator",
    "peers.index": "cap:use_calculator",
    "impact.summary": "cap:view_all_incidents",
    "impact.summary_csv": "cap:view_all_incidents",
    "reports.hhs_log_page": "cap:view_all_incidents",
    "reports.hhs_log": "cap:view_all_incidents",
    "reports.hhs_log_csv": "cap:view_all_incidents",
    "reports.hhs_log_pdf": "cap:view_all_incidents",
    "reports.metrics": "cap:view_all_incidents",
    "reports.metrics_csv": "cap:view_all_incidents",
    "reports.filing": "incident_sign",
    "reports.addendum": "incident_sign",
    # incidents
    "incidents.index": "signed_in",
    "incidents.new": "cap:open_incidents",
    "incidents.detail": READ,
    "incidents.change_status": WORK,
    "incidents.facts": {"GET": READ, "POST": WORK},
    "incidents.add_statement": WORK,
    "incidents.team": {"GET": READ, "POST": "incident_manage"},
    "incidents.remove_member": "incident_manage",
    "incidents.timeline_page": {"GET": READ, "POST": WORK},
    "incidents.correct_entry": WORK,
    "incidents.task_list": {"GET": READ, "POST": WORK},
    "incidents.task_edit": {"GET": READ, "POST": WORK},
    "incidents.task_done": WORK,
    "incidents.evidence_list": {"GET": READ, "POST": WORK},
    "incidents.evidence_download": READ,
    "clients.incident_clients": {"GET": READ, "POST": WORK},
    # the 164.410 notices to each client: identities are PHI, so roster access
    "clients.notice": "roster_read",
    "clients.notice_identities": "roster_read",
    "clients.notice_pdf": "roster_read",
    "clients.draft_notice": "roster_work",
    "clients.notice_sent": "roster_work",
    "clients.notice_redraft": "roster_work",
    "clients.notice_discard": "roster_work",
    # the client portal: a client contact's only pages
    "portal.index": "client_portal",
    "portal.case": "client_portal",
    "portal.case_json": "client_portal",
    "portal.individuals": "client_portal",
    "portal.notice": "client_portal",
    "portal.identities": "client_portal",
    "portal.notice_pdf": "client_portal",
    "portal.acknowledge": "client_portal",
    # assessment and deadlines
    "assessment.edit": {"GET": READ, "POST": WORK},
    "assessment.version": READ,
    "assessment.version_pdf": READ,
    "assessment.sign": "incident_sign",
    "assessment.determination": READ,
    "assessment.discovery": WORK,
    "assessment.recompute": WORK,
    "assessment.override_determination": "incident_sign",
    "assessment.override_due_date": "incident_sign",
    # letters and notices
    "letters.index": READ,
    "letters.detail": READ,
    "letters.compare": READ,
    "letters.hhs_json": READ,
    "letters.download": READ,
    "letters.faq_pdf": READ,
    "letters.page_image": READ,
    "letters.revise": WORK,
    "letters.proof": READ,
    "letters.wording": {"GET": READ, "POST": WORK},
    "letters.generate": WORK,
    "letters.prepare_roster": WORK,
    "letters.submit": WORK,
    "letters.mark_sent": WORK,
    "letters.attach_proof": WORK,
    "letters.approve": "incident_approve",
    "letters.request_changes": "incident_approve",
    "letters.approve_together": "incident_approve",
    # roster (PHI)
    "roster.overview": "roster_read",
    "roster.people": "roster_read",
    "roster.person": "roster_read",
    "roster.person_letter": "roster_read",
    "roster.import_page": "roster_read",
    "roster.import_progress": "roster_read",
    "roster.import_report": "roster_read",
    "roster.export": "roster_work",
    "roster.upload": "roster_work",
    "roster.import_mapping": "roster_work",
    "roster.import_cancel": "roster_work",
    "roster.person_notice": "roster_work",
    "roster.returns": "roster_work",
    # mail merge (names and addresses from the roster: PHI)
    # enrollment codes (issue 23): the pool's status for whoever sees the incident; importing
    # codes and the vendor export (every assigned code) for privacy officers; one person's
    # code is on roster.person (roster_read)
    "enrolment.index": READ,
    "enrolment.upload": "incident_manage",
    "enrolment.export": "incident_manage",
    "enrolment.offer": "incident_manage",
    "mailmerge.index": "roster_read",
    "mailmerge.batch": "roster_read",
    "mailmerge.progress": "roster_read",
    "mailmerge.download": "roster_read",
    "mailmerge.start": "roster_work",
    "mailmerge.confirm": "roster_work",
    "mailmerge.mailed": "roster_work",
    "mailmerge.control": "roster_work",
    # inquiries from individuals and returned letters (PHI: names, summaries, addresses)
    "inquiries.index": "roster_read",
    "inquiries.detail": "roster_read",
    "inquiries.record": "roster_work",
    "inquiries.close": "roster_work",
    "inquiries.export": "roster_work",
    "inquiries.link": "roster_work",
    "inquiries.address": "roster_work",
    "returns.index": "roster_read",
    "returns.record": "roster_work",
    "returns.codes": "roster_work",
    # after the breach
    "impact.incident_impact": READ,
    "impact.costs_csv": READ,
    "impact.disruptions_csv": READ,
    "impact.download": READ,
    "impact.add_cost": WORK,
    "impact.delete_cost": WORK,
    "impact.add_disruption": WORK,
    "impact.delete_disruption": WORK,
    "impact.actions": READ,
    "impact.add_action": WORK,
    "impact.action_status": WORK,
    "impact.add_training": WORK,
    "impact.review_page": {"GET": READ, "POST": WORK},
    "impact.review_pdf": READ,
    "impact.sign_review": "incident_sign",
    # the token API
    "api.openapi_json": "api:public",
    "api.me": "api:signed_in",
    "api.calculator": "api:cap:use_calculator",
    "api.incident_index": "api:signed_in",
    "api.incident_create": "api:cap:open_incidents",
    "api.incident_read": "api:incident_read",
    "api.determination": "api:incident_read",
    "api.timeline_index": "api:incident_read",
    "api.timeline_create": "api:incident_work",
}

# Bodies that get a POST past form validation, so that the access decision (not "this field is
# required") is what a persona without the right meets. Keys are endpoints; values are form
# fields (web) or JSON (API).
API_BODIES: dict[str, dict[str, object]] = {
    "api.incident_create": {"title": "Fax to the wrong clinic", "discovered_on": "2026-02-01"},
    "api.timeline_create": {"text": "Called the clinic", "category": "containment"},
    "api.calculator": {"discovered_on": "2026-02-01", "affected_total": 10},
}

# Web form bodies valid enough to pass form validation, so a persona without the right meets the
# access decision (403), not "this field is required". "{name}" is filled from the world
# (incident A's objects, a user id), FILE marks an upload.
FILE = "<file>"
FORM_BODIES: dict[str, dict[str, object]] = {
    "incidents.change_status": {"to": "{transition_to}", "reason": "Moving on"},
    "incidents.facts": {
        "title": "Stolen billing laptop",
        "occurred_zone": "America/Chicago",
        "discovered_on": "2025-09-15",
        "affected_estimate": "1204",
    },
    "incidents.add_statement": {
        "le_form": "written",
        "le_stated_on": "2025-09-20",
        "le_official_name": "Det. Ray Park",
        "le_agency": "City PD",
    },
    "incidents.team": {"user_id": "{outsider_id}", "case_role": "responder"},
    "incidents.timeline_page": {
        "occurred_at": "2026-02-20T09:30",
        "category": "containment",
        "text": "Called the carrier",
    },
    "incidents.correct_entry": {
        "occurred_at": "2026-02-20T09:30",
        "category": "containment",
        "text": "Called the carrier (corrected)",
    },
    "incidents.task_list": {"title": "Notify the insurer", "assignee_id": "", "status": "open"},
    "incidents.task_edit": {"title": "Notify the insurer", "assignee_id": "", "status": "open"},
    "incidents.evidence_list": {"file": FILE, "description": "Carrier's letter"},
    "assessment.discovery": {"discovered_on": "2025-09-15"},
    "assessment.override_determination": {"reportable": "no", "reason": "Counsel's advice"},
    "assessment.override_due_date": {"due_on": "2025-11-01", "reason": "Counsel's advice"},
    "letters.generate": {
        "obligation_id": "{obligation_id}",
        "template_name": "individual_adult.html",
    },
    "letters.wording": {
        "what_happened": "A laptop was stolen.",
        "covered_entity_type": "Healthcare Provider",
    },
    "letters.mark_sent": {"method": "first_class_mail", "sent_on": "2025-11-02"},
    "letters.attach_proof": {"notice_id": "{notice_id}", "file": FILE},
    "letters.request_changes": {"comment": "Shorter sentences, please."},
    "mailmerge.mailed": {"mailed_on": "2025-11-02"},
    "enrolment.upload": {
        "vendor": "Experian",
        "product": "IdentityWorks",
        "months": "24",
        "url": "https://www.experianidworks.com/3bcredit",
        "phone": "1-877-288-8057",
        "enrol_by": "2030-12-31",
        "file": FILE,
    },
    "enrolment.offer": {
        "offer-vendor": "Experian",
        "offer-product": "IdentityWorks",
        "offer-months": "24",
        "offer-url": "https://www.experianidworks.com/3bcredit",
        "offer-phone": "1-877-288-8057",
        "offer-enrol_by": "2030-12-31",
    },
    "impact.add_cost": {
        "category": "outside_counsel",
        "basis": "actual",
        "amount": "950.00",
        "currency": "USD",
        "spent_on": "2026-02-03",
    },
    "impact.add_disruption": {
        "kind": "billing_halt",
        "system": "Claims feed",
        "started_at": "2026-02-01T08:00",
    },
    "impact.add_action": {"ocr_code": "policies", "owner_id": "{spare_id}", "due_on": "2026-04-01"},
    "impact.action_status": {"status": "in_progress"},
    "impact.add_training": {
        "trainee": "Billing team",
        "trained_on": "2026-02-10",
        "topic": "Laptop encryption",
    },
    "impact.sign_review": {"number": "1"},
    "roster.upload": {"file": FILE, "mode": "replace"},
    "clients.new": {"name": "Maple Clinic", "contacts": "Ann Maple, ann@maple.example"},
    "clients.edit": {"name": "Elm Clinic", "contacts": "Dana Reyes, dana@elm.example"},
    "clients.baa": {"file": FILE},
    "clients.invite_contact": {
        "contact-name": "Ann Maple",
        "contact-email": "ann@elm.example",
        "contact-how": "password",
        "contact-password": "a long first password",
    },
    "clients.draft_notice": {"update": "Diagnosis codes were also exposed."},
    "clients.notice_redraft": {"update": "Diagnosis codes were also exposed."},
    "roster.person_notice": {"status": "mailed", "method": "mail", "notice_on": "2025-11-01"},
    "roster.returns": {"file": FILE},
    "inquiries.record": {
        "found_by": "not_on_roster",
        "caller_name": "Dana Whit",
        "channel": "phone",
        "category": "question",
        "summary": "Asked what was taken.",
        "assignee_id": "",
    },
    "inquiries.close": {"outcome": "Called back and explained."},
    "inquiries.link": {"letter_code": "{letter_code}"},
    "inquiries.address": {
        "line1": "77 Birch Rd",
        "city": "Buffalo",
        "state": "NY",
        "zip_code": "14201",
    },
    "returns.record": {"letter_code": "{letter_code}"},
    "returns.codes": {"file": FILE},
}

# URL parameters whose value belongs to the persona making the request (their notification,
# spare token, spare session): pushing someone else's must give 404.
OWN_PARAMS = ("notification_id", "token_id", "session_id")
# Parameters shared by the whole organisation (not an IDOR target).
COMMON_PARAMS = (
    "template_id",
    "user_id",
    "token",
    "filename",
    "year",
    "client_id",
    "invite_token",
)
# A parameter whose name means different objects on different endpoints.
PARAM_ALIASES = {
    ("letters.download", "version_id"): "letter_version_id",
    ("letters.page_image", "version_id"): "letter_version_id",
    ("assessment.version", "version_id"): "assessment_version_id",
    ("assessment.version_pdf", "version_id"): "assessment_version_id",
    ("assessment.sign", "version_id"): "assessment_version_id",
    ("letters.hhs_json", "letter_id"): "hhs_letter_id",
    ("letters.faq_pdf", "letter_id"): "faq_letter_id",
    ("mailmerge.control", "letter_id"): "mail_letter_id",
    ("clients.resend_invitation", "user_id"): "contact_user_id",
}

# Membership of incident A in the matrix's world.
MEMBERS = {"responder_member": "responder", "legal_member": "legal"}
ROLE_OF = {
    "admin": Role.ADMIN,
    "privacy_officer": Role.PRIVACY_OFFICER,
    "responder": Role.RESPONDER,
    "legal": Role.LEGAL,
    "auditor": Role.AUDITOR,
    "responder_member": Role.RESPONDER,
    "legal_member": Role.LEGAL,
    "client_contact": Role.CLIENT_CONTACT,
}
CONTACT = "client_contact"


def kind_of(endpoint: str, method: str) -> str | None:
    entry = POLICY.get(endpoint)
    if isinstance(entry, dict):
        return entry.get(method)
    return entry


def _can(persona: str, capability: str) -> bool:
    return Capability(capability) in ROLE_CAPABILITIES[ROLE_OF[persona]]


def _incident_outcome(kind: str, persona: str) -> str:
    member = MEMBERS.get(persona)
    if not (member or _can(persona, "view_all_incidents")):
        return "not_found"
    role = ROLE_OF[persona]
    allowed = {
        "incident_read": True,
        "incident_work": _can(persona, "manage_all_incidents") or member == "responder",
        "incident_manage": _can(persona, "manage_all_incidents"),
        "incident_sign": _can(persona, "sign_determinations"),
        "incident_approve": _can(persona, "approve_letters"),
        "roster_read": member is not None or role in (Role.PRIVACY_OFFICER, Role.AUDITOR),
    }
    if kind == "roster_work":
        ok = allowed["roster_read"] and allowed["incident_work"]
    else:
        ok = allowed[kind]
    return "allowed" if ok else "forbidden"


def expected(kind: str, persona: str) -> set[str]:
    """The outcomes the policy allows for `persona` on a route of `kind`."""
    if kind.startswith("api:"):
        return _api_expected(kind.removeprefix("api:"), persona)
    if kind in ANYONE:
        return {"not_found"} if persona == CONTACT and kind == "ics_token" else ANYONE[kind]
    if persona == "anonymous":
        return {"login"}
    if kind == "account":
        return {"allowed"}
    if kind == "client_portal":
        return {"allowed" if persona == CONTACT else "not_found"}
    if persona == CONTACT:
        return {"not_found"}  # confined to its portal: 404 (audited) everywhere else
    if kind == "signed_in":
        return {"allowed"}
    if kind.startswith("cap:"):
        return {"allowed" if _can(persona, kind.removeprefix("cap:")) else "forbidden"}
    return {_incident_outcome(kind, persona)}


# Kinds whose outcome does not depend on who asks.
ANYONE = {
    "public": {"allowed"},
    "ics_token": {"allowed"},
    "pre_auth": {"allowed", "login"},
    "sign_out": {"login"},
    "probe": {"allowed", "status 503"},  # 503 while the scheduler's heartbeat is missing
}


def _api_expected(kind: str, persona: str) -> set[str]:
    if kind == "public":
        return {"allowed"}
    if persona == "anonymous":
        return {"unauthorized"}
    if persona == CONTACT:
        return {"not_found"}
    return expected(kind, persona)
