"""The keyed chain's life: signing, the legacy rule, rotation (`rekey`), checkpoints, the job."""

from __future__ import annotations

import json
import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.audit_keys import AuditKeys
from incident_app.audit_keys import bound_keys
from incident_app.jobs.audit import audit_checkpoint_job
from incident_app.mailer import RecordingMailer
from incident_app.models.audit import AuditChainHead
from incident_app.models.audit import AuditEvent
from incident_app.models.user import Role
from incident_app.scheduler import JOBS
from incident_app.services import audit
from incident_app.services import audit_checkpoints
from incident_app.services import audit_rekey
from tests.support.factories import NOW
from tests.support.factories import make_user


def _append(session: Session, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        audit.record(session, actor=None, action=f"test.e{i}", at=NOW + timedelta(seconds=i))
    session.commit()


def _keys(session: Session) -> AuditKeys:
    keys = bound_keys(session.info)
    assert keys is not None
    return keys


def _unsign_all(session: Session) -> None:
    """What a database upgraded by migration 0017 looks like: no MAC anywhere."""
    session.execute(sa.update(AuditEvent).values(key_id=None, mac=None))
    session.execute(sa.update(AuditChainHead).values(key_id=None, mac=None))
    session.commit()


def test_every_row_and_the_head_are_signed_with_the_primary_key(session: Session) -> None:
    _append(session, 3)
    keys = _keys(session)
    rows = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    head = session.get(AuditChainHead, 1)

    assert {row.key_id for row in rows} == {keys.primary_id}
    assert all(row.mac == audit.row_mac(keys, keys.primary_id, row.seq, row.hash) for row in rows)
    assert head is not None and head.mac == audit.head_mac(keys, keys.primary_id, 3, rows[-1].hash)


def test_a_session_without_audit_keys_refuses_to_record(session: Session) -> None:
    session.info.clear()

    with pytest.raises(audit.AuditChainError, match="No audit key"):
        audit.record(session, actor=None, action="test.unsigned", at=NOW)


def test_a_missing_head_refuses_to_record_and_fails_verification(session: Session) -> None:
    _append(session, 2)
    session.execute(sa.delete(AuditChainHead))
    session.commit()

    with pytest.raises(audit.AuditChainError, match="head is missing"):
        audit.record(session, actor=None, action="test.after", at=NOW)
    report = audit.verify(session)
    assert not report.ok and "head row is missing" in report.problem


def test_legacy_rows_verify_as_a_prefix_and_the_next_append_signs(session: Session) -> None:
    _append(session, 3)
    _unsign_all(session)

    legacy = audit.verify(session)
    _append(session, 2, start=3)
    mixed = audit.verify(session)

    assert legacy.ok and legacy.legacy_rows == 3 and "rekey" in legacy.notes[0]
    assert mixed.ok and mixed.legacy_rows == 3 and mixed.checked == 5


def test_an_unsigned_row_after_signed_ones_is_named(session: Session) -> None:
    _append(session, 4)
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 3).values(mac=None, key_id=None))
    session.commit()

    report = audit.verify(session)

    assert not report.ok and report.broken_seq == 3 and "MAC was removed" in report.problem


def test_rekey_signs_legacy_rows_and_rotation_keeps_old_rows_verifiable(
    session: Session, tmp_path: Path
) -> None:
    _append(session, 3)
    _unsign_all(session)
    _append(session, 2, start=3)
    old = _keys(session)
    new_secret = os.urandom(32)
    rotated = AuditKeys([("audit-new", new_secret), *[(k, old._keys[k]) for k in old.key_ids]])
    rotated.bind_to(session.info)
    _append(session, 1, start=5)  # new rows use the new primary; old rows keep their key id

    before = audit.verify(session)
    report = audit_rekey.rekey(
        session, keys=rotated, directory=tmp_path, clock=lambda: NOW, actor_label="test"
    )
    only_new = AuditKeys([("audit-new", new_secret)])

    assert before.ok and before.legacy_rows == 3
    assert report.rows == 5 and report.key_id == "audit-new"
    after = audit.verify(session, keys=only_new)
    assert after.ok and after.legacy_rows == 0 and after.checked == 7  # + audit.rekeyed
    assert session.scalars(
        sa.select(AuditEvent.action).order_by(AuditEvent.seq.desc())
    ).first() == ("audit.rekeyed")


def test_rekey_refuses_a_chain_that_does_not_verify(session: Session, tmp_path: Path) -> None:
    _append(session, 3)
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 2).values(action="x"))
    session.commit()

    with pytest.raises(audit_rekey.RekeyRefused, match="#2"):
        audit_rekey.rekey(
            session, keys=_keys(session), directory=tmp_path, clock=lambda: NOW, actor_label="t"
        )


def test_checkpoints_are_signed_files_and_rotation_resigns_them(
    session: Session, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _append(session, 4)
    keys = _keys(session)
    with caplog.at_level(logging.INFO, logger="breachdesk.audit"):
        report, cp = audit_checkpoints.checkpoint_now(
            session, keys=keys, directory=tmp_path, now=NOW, by="test"
        )

    assert report.ok and cp is not None and cp.seq == 4
    document = json.loads((tmp_path / cp.name).read_text())
    assert document["seq"] == 4 and document["signature"]["alg"] == "HMAC-SHA256"
    assert f"seq=4 hash={cp.hash}" in caplog.text  # the log holds a copy too
    rotated = AuditKeys(
        [("audit-new", os.urandom(32)), *[(k, keys._keys[k]) for k in keys.key_ids]]
    )
    assert audit_checkpoints.resign_all(tmp_path, rotated) == 1
    found = audit_checkpoints.read_all(
        tmp_path, AuditKeys([("audit-new", rotated._keys["audit-new"])])
    )
    assert [c.seq for c in found.valid] == [4] and not found.problems


def test_a_broken_chain_is_never_checkpointed(session: Session, tmp_path: Path) -> None:
    _append(session, 3)
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 1).values(action="x"))
    session.commit()

    report, cp = audit_checkpoints.checkpoint_now(
        session, keys=_keys(session), directory=tmp_path / "cps", now=NOW, by="test"
    )

    assert not report.ok and cp is None and not (tmp_path / "cps").exists()


def test_the_scheduler_job_checkpoints_and_emails_the_privacy_officers(app, tmp_path) -> None:
    from incident_app.db import get_session

    assert "audit-checkpoint" in [job.id for job in JOBS]
    mailer = RecordingMailer()
    app.extensions["mailer"] = mailer
    app.config["AUDIT_CHECKPOINT_EMAIL"] = True
    with app.app_context():
        session = get_session()
        make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        make_user(session, role=Role.RESPONDER, email="r@example.org")
        _append(session, 2)

    result = audit_checkpoint_job(app)

    assert result is not None
    report, cp = result
    assert report.ok and cp is not None
    assert (Path(app.config["FILE_STORE_DIR"]) / "audit-checkpoints" / cp.name).exists()
    assert [m.to for m in mailer.sent] == ["po@example.org"]
    assert f'"seq": {cp.seq}' in mailer.sent[0].body
    with app.app_context():
        last = (
            get_session()
            .scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
            .one()
        )
        assert last.action == "audit.verified" and last.actor_label == "system (scheduler)"


def test_cli_checkpoint_and_rekey(app, runner) -> None:
    from incident_app.db import get_session

    with app.app_context():
        _append(get_session(), 2)

    checkpoint = runner.invoke(args=["audit", "checkpoint"])
    rekey = runner.invoke(args=["audit", "rekey"])
    verify = runner.invoke(args=["audit", "verify"])

    assert checkpoint.exit_code == 0 and "Checkpoint written" in checkpoint.output
    assert rekey.exit_code == 0 and "Signed 0 events" in rekey.output
    assert verify.exit_code == 0 and "1 checkpoint(s) matched" in verify.output
