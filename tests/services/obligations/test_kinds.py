"""The one table of obligation kinds covers exactly the kinds the rules package can emit.

The kinds are derived from the rules package itself, not copied: every `Obligation(...)` call
(and every helper with a `kind` parameter) is read with `ast`, constants and conditional
constants are collected, "part2_<kind>" f-strings are expanded with rules.part2.MIRRORED and
state rows' kinds come from rules.state_table.KINDS (what StateRule.kind returns). Anything the
walk cannot resolve must be a pass-through of a kind decided elsewhere, or the test fails.
A second test runs the engine on broad facts and checks what it really emitted.
"""

from __future__ import annotations

import ast
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

from incident_app import rules
from incident_app.rules import part2
from incident_app.rules import state_table
from incident_app.services.obligations import kinds
from incident_app.services.obligations import presentation

RULES_DIR = Path(rules.__file__).parent


def _kind_positions(trees: list[ast.Module]) -> dict[str, int]:
    """Callable name → position of its `kind` argument (Obligation's is the first)."""
    positions = {"Obligation": 0}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                names = [arg.arg for arg in node.args.args]
                if "kind" in names:
                    positions[node.name] = names.index("kind")
    return positions


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _kind_argument(call: ast.Call, position: int) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "kind":
            return keyword.value
    return call.args[position] if len(call.args) > position else None


class _Collector:
    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.unresolved: list[str] = []

    def resolve(self, node: ast.expr, function: ast.FunctionDef | None, where: str) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.kinds.add(node.value)
        elif isinstance(node, ast.IfExp):
            self.resolve(node.body, function, where)
            self.resolve(node.orelse, function, where)
        elif isinstance(node, ast.JoinedStr):
            self._fstring(node, where)
        elif isinstance(node, ast.Attribute) and node.attr == "kind":
            pass  # an existing obligation's or a state rule's kind, passed through
        elif isinstance(node, ast.Name) and function is not None:
            self._name(node.id, function, where)
        else:
            self.unresolved.append(f"{where}: {ast.unparse(node)}")

    def _fstring(self, node: ast.JoinedStr, where: str) -> None:
        head = node.values[0]
        if isinstance(head, ast.Constant) and head.value == kinds.PART2_PREFIX:
            self.kinds.update(kinds.PART2_PREFIX + kind for kind in part2.MIRRORED)
        else:
            self.unresolved.append(f"{where}: {ast.unparse(node)}")

    def _name(self, name: str, function: ast.FunctionDef, where: str) -> None:
        if name in [arg.arg for arg in function.args.args]:
            return  # a parameter: its callers are walked too
        assigned = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ]
        if not assigned:
            self.unresolved.append(f"{where}: {name}")
        for value in assigned:
            self.resolve(value, function, where)


def kinds_the_rules_can_emit() -> tuple[set[str], list[str]]:
    sources = {path: path.read_text() for path in sorted(RULES_DIR.glob("*.py"))}
    trees = {path: ast.parse(text) for path, text in sources.items()}
    positions = _kind_positions(list(trees.values()))
    found = _Collector()
    for path, tree in trees.items():
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                position = positions.get(_callee(call))
                argument = None if position is None else _kind_argument(call, position)
                if argument is not None:
                    found.resolve(argument, function, f"{path.name}:{call.lineno}")
    # StateRule.kind is state_table.KINDS[recipient]: every value is a kind a state row emits.
    found.kinds.update(state_table.KINDS.values())
    return found.kinds, found.unresolved


def test_every_kind_the_rules_can_emit_has_a_label_and_no_label_is_stale():
    emitted, unresolved = kinds_the_rules_can_emit()

    assert unresolved == []
    assert {"cra_notice", "supervisory_authority_notice", "part2_hhs_notice"} <= emitted
    assert sorted(emitted - set(kinds.OBLIGATION_KINDS)) == []  # missing labels
    assert sorted(set(kinds.OBLIGATION_KINDS) - emitted) == []  # stale rows


def test_every_row_has_a_label_a_description_and_a_family():
    for kind, info in kinds.OBLIGATION_KINDS.items():
        assert info.label and info.description and info.family, kind
    labels = [info.label for info in kinds.OBLIGATION_KINDS.values()]
    assert len(labels) == len(set(labels))  # no two kinds read the same


def test_what_the_engine_emits_on_broad_facts_is_in_the_table():
    broad = [
        rules.BreachFacts(
            discovered_on=date(2026, 3, 2),
            affected_total=20000,
            residents_by_state={"NY": 6000, "TX": 11000, "CA": 600, "IL": 10},
            insufficient_contact_count=20,
            part2_records=True,
            licensed_facility_states=frozenset({"CA"}),
            gdpr=rules.GdprFacts(
                aware_at=datetime(2026, 3, 2, 9, tzinfo=UTC), data_subjects=5, high_risk=True
            ),
            materiality_determined_on=date(2026, 3, 9),
        ),
        rules.BreachFacts(
            discovered_on=date(2026, 3, 2),
            affected_total=40,
            residents_by_state={"TX": 40},
            entity_role="phr_vendor",
            gdpr=rules.GdprFacts(
                aware_at=datetime(2026, 3, 2, 9, tzinfo=UTC), data_subjects=5, controller=False
            ),
        ),
        rules.BreachFacts(
            discovered_on=date(2026, 3, 2),
            affected_total=40,
            entity_role="third_party_service_provider",
        ),
        rules.BreachFacts(
            discovered_on=None,
            affected_total=40,
            business_associate=rules.BusinessAssociateFacts(discovered_on=date(2026, 3, 2)),
        ),
    ]
    emitted = {o.kind for facts in broad for o in rules.evaluate(facts).obligations}

    assert len(emitted) >= 19  # of the 24: the others need facts these cannot share
    assert emitted <= set(kinds.OBLIGATION_KINDS)


def test_unknown_kinds_are_humanised_and_places_are_added_outside_the_us():
    assert kinds.label("some_future_notice") == "Some future notice"
    cra = kinds.label_with_place("cra_notice", "NY")
    assert cra == "Notice to consumer reporting agencies (NY)"
    assert kinds.label_with_place("hhs_notice", "US") == "Notice to HHS"
    assert kinds.label("task") == "Task"


def test_a_state_regulator_is_named_as_the_state_table_names_it():
    detail = {"recipient_name": "Texas Attorney General (electronic form)"}
    assert kinds.label_with_place("state_regulator_notice", "TX", detail) == (
        "Texas Attorney General"
    )
    assert kinds.label_with_place("state_regulator_notice", "TX", {}) == (
        "State notice to a regulator (TX)"
    )


def test_presentation_marks_secondary_and_unconfirmed_rows_and_shows_hour_clocks():
    obligation = rules.Obligation(
        "supervisory_authority_notice",
        "EU",
        date(2026, 3, 5),
        "GDPR Art. 33(1)",
        "Notify.",
        {"clock": "72 hours from awareness, counted in hours (UTC)"},
        due_at=datetime(2026, 3, 5, 14, 30, tzinfo=UTC),
    )
    shown = presentation.present(obligation, zone="America/New_York")
    assert shown.due_at_utc == "2026-03-05 14:30 UTC"
    assert shown.due_at_local == "2026-03-05 09:30 EST (America/New_York)"
    assert shown.due_at_iso == "2026-03-05T14:30:00Z"
    assert shown.basis.startswith("72 hours")
    assert shown.provenance is None

    state = rules.Obligation(
        "state_regulator_notice",
        "GA",
        date(2026, 5, 1),
        "O.C.G.A. 10-1-912",
        "may not apply: covers information brokers. Notify the AG.",
        {
            "may_not_apply": "covers information brokers",
            "confidence": "[S]",
            "checked_against": "secondary",
            "checked_on": "2026-11-28",
            "statute_url": "javascript:alert(1)",
        },
    )
    shown = presentation.present(state, zone="UTC")
    assert shown.reason == "Notify the AG."
    assert shown.may_not_apply == "covers information brokers"
    assert shown.provenance is not None and shown.provenance.verify_with_counsel
    assert shown.provenance.statute_url == ""  # only http(s) links are shown
    assert not presentation.needs_counsel({"confidence": "[V]", "checked_against": "statute"})
    assert presentation.needs_counsel({"confidence": "[M]", "checked_against": "statute"})
