"""One render has a time budget (issue 24 §2): stopped with a clear message, nothing stored,
and the next letter renders normally."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.letters import budget
from incident_app.letters import render
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterVersion
from tests.blueprints.test_letters_pages import _generate
from tests.blueprints.test_letters_pages import _setup

SLOW_HTML = "<p>A paragraph that fills page after page.</p>" * 6000


def test_within_stops_a_busy_python_loop_and_returns_a_quick_result() -> None:
    assert budget.within(1.0, lambda: 42) == 42
    started = time.perf_counter()

    def spin() -> None:
        while True:
            pass

    with pytest.raises(budget.BudgetExceeded, match="longer than 0.2 seconds"):
        budget.within(0.2, spin)
    assert time.perf_counter() - started < 2


def test_a_render_past_its_budget_is_stopped_and_the_next_one_works(monkeypatch) -> None:
    monkeypatch.setattr(render, "RENDER_BUDGET_SECONDS", 0.5)
    started = time.perf_counter()

    with pytest.raises(render.LetterRenderTimeout, match="longer than 0.5 seconds"):
        render.pdf_from_html(SLOW_HTML)

    assert time.perf_counter() - started < 3
    assert render.pdf_from_html("<p>Short letter.</p>").startswith(b"%PDF")  # lock released


def test_the_budget_holds_on_a_thread_that_is_not_the_main_one(monkeypatch) -> None:
    monkeypatch.setattr(render, "RENDER_BUDGET_SECONDS", 0.5)
    outcome: list[BaseException | bytes] = []

    def work() -> None:
        try:
            outcome.append(render.pdf_from_html(SLOW_HTML))
        except render.LetterRenderTimeout as error:
            outcome.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert isinstance(outcome[0], render.LetterRenderTimeout)


def test_generating_a_letter_past_the_budget_says_so_and_stores_nothing(
    app, client, auth, monkeypatch
) -> None:
    officer, _, incident, ob = _setup(app)
    auth.login(officer.email)
    monkeypatch.setattr(render, "RENDER_BUDGET_SECONDS", 0.01)

    page = _generate(client, incident, ob).get_data(as_text=True)

    assert "Nothing was generated: Laying out this letter took longer than 0.01 seconds" in page
    with app.app_context():
        session = get_session()
        assert session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(LetterVersion)) == 0
