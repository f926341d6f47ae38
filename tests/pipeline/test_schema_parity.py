"""The migrations give PostgreSQL the same schema as SQLite: tables, columns (kind, length,
nullability), primary keys, foreign keys (with their ON DELETE), unique constraints and
indexes, compared as both databases report them after `upgrade`. The one intended
difference: SQLite's FTS5 name index (0004), which PostgreSQL does without. Needs
PostgreSQL: `make test-scale`."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, types

from app.models import db
from tests.conftest import postgres_or_skip

pytestmark = pytest.mark.scale

SQLITE_ONLY = "file_name_search"  # the FTS5 index and its shadow tables


def _kind(column_type) -> str:
    """A column's type as both dialects can agree on it: the generic kind, and a length."""
    for generic in (
        types.BigInteger, types.Integer, types.Boolean, types.DateTime, types.Float, types.LargeBinary,
        types.JSON, types.Text, types.String,
    ):  # fmt: skip
        if isinstance(column_type, generic):
            length = getattr(column_type, "length", None) if generic is types.String else None
            name = "Text" if generic is types.String and length is None else generic.__name__
            return f"{name}({length})" if length else name
    if type(column_type).__name__ in ("DOUBLE_PRECISION", "REAL", "NUMERIC"):
        return "Float"
    return type(column_type).__name__


def schema(url: str) -> dict:
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        out = {}
        for table in sorted(t for t in insp.get_table_names() if not t.startswith(SQLITE_ONLY)):
            if table == "alembic_version":
                continue
            out[table] = {
                "columns": {c["name"]: (_kind(c["type"]), c["nullable"]) for c in insp.get_columns(table)},
                "primary key": tuple(insp.get_pk_constraint(table)["constrained_columns"]),
                "foreign keys": sorted(
                    (
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        (fk.get("options") or {}).get("ondelete", "NO ACTION").upper(),
                    )
                    for fk in insp.get_foreign_keys(table)
                ),
                "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
                # PostgreSQL also lists the index behind each unique constraint: that is the constraint
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in insp.get_indexes(table)
                    if not i.get("duplicates_constraint")
                ),
            }
        return out
    finally:
        engine.dispose()


def test_postgresql_gets_the_same_schema_as_sqlite(_template_db, postgres_databases):
    postgres_or_skip()
    on_sqlite = schema(f"sqlite:///{_template_db}")
    on_postgres = schema(postgres_databases.url_of(postgres_databases.template))
    assert sorted(on_postgres) == sorted(on_sqlite)
    for table in on_sqlite:
        assert on_postgres[table] == on_sqlite[table], table
    # the two keys 0001 left out on PostgreSQL are there
    assert (("recommended_id",), "file", ("id",), "SET NULL") in on_postgres["duplicate_group"]["foreign keys"]
    assert (("representative_id",), "file", ("id",), "SET NULL") in on_postgres["duplicate_group"]["foreign keys"]


def test_the_migrations_match_the_models_on_postgresql(app):
    """`flask db check` on PostgreSQL: no drift between the models and what upgrade made."""
    postgres_or_skip()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), db.metadata)
    assert diff == []


def _start_up(url: str, data_dir: str) -> None:
    from pathlib import Path

    from app import create_app
    from app.database import upgrade
    from tests.conftest import make_settings

    app = create_app(make_settings(Path(data_dir), DATABASE_URL=url))
    upgrade(app)
    with app.app_context():
        db.engine.dispose()


def test_a_web_app_and_workers_starting_together_upgrade_in_turn(postgres_databases, tmp_path):
    """Each process upgrades the schema when it starts: on a new PostgreSQL database, at once."""
    import multiprocessing

    postgres_or_skip()
    name = f"{postgres_databases.prefix}_fresh"
    postgres_databases.drop(name)
    postgres_databases._sql(f'CREATE DATABASE "{name}"')
    url = postgres_databases.url_of(name)
    try:
        spawn = multiprocessing.get_context("spawn")
        procs = [spawn.Process(target=_start_up, args=(url, str(tmp_path / f"p{i}"))) for i in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0, 0, 0]
        assert sorted(schema(url)) == sorted(schema(postgres_databases.url_of(postgres_databases.template)))
    finally:
        postgres_databases.drop(name)
