"""``open_store`` URL handling (no database needed)."""

from __future__ import annotations

import pytest

from bot.storage import PostgresStore, SQLiteStore, open_store


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/relbot.sqlite3", "data/relbot.sqlite3"),
        ("sqlite:////var/lib/relbot/bot.sqlite3", "/var/lib/relbot/bot.sqlite3"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls(url: str, path: str) -> None:
    store = open_store(url)
    assert isinstance(store, SQLiteStore)
    assert store.path == path


@pytest.mark.parametrize(
    "url", ["postgresql://postgres@127.0.0.1:5432/test", "postgres://u:p@db/relbot"]
)
def test_postgres_urls(url: str) -> None:
    store = open_store(url, schema="relbot", max_attempts=3)
    assert isinstance(store, PostgresStore)
    assert (store.dsn, store.schema, store.max_attempts) == (url, "relbot", 3)


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "sqlite://relative.db", "sqlite:///", "sqlite:///a.db?mode=ro", ""]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        open_store(url)


def test_schema_is_postgres_only() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        open_store("sqlite:///:memory:", schema="x")
    with pytest.raises(ValueError, match="schema name"):
        open_store("postgresql://h/db", schema='x"; DROP TABLE users; --')


def test_unsupported_scheme_does_not_echo_credentials() -> None:
    with pytest.raises(ValueError) as info:
        open_store("mysql://admin:secret@db/relbot")
    assert "secret" not in str(info.value)
