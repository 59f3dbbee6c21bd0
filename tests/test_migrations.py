"""Migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import incident_app.models  # noqa: F401
from incident_app.cli.database import alembic_config
from incident_app.db import Base
from tests.support.scratch_db import scratch_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        return
    with scratch_postgres("mig") as (url,):
        yield url


def _schema_diff(url: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return diff


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    names = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_migrating_an_empty_database_yields_the_models_schema(empty_database_url: str) -> None:
    command.upgrade(alembic_config(empty_database_url), "head")

    assert _schema_diff(empty_database_url) == []


def test_head_to_base_to_head(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert _tables(empty_database_url) <= {"alembic_version"}

    command.upgrade(config, "head")
    assert _schema_diff(empty_database_url) == []


def test_there_is_a_single_head() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads} (merge or re-chain them)"
