"""What a therapist may see: ratings by default, words only if ticked, never the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.homework import Sharing, visible_records
from bot.storage.models import Record

ACCEPTED = datetime(2026, 3, 2, tzinfo=UTC)


def rec(kind: str, data: dict[str, object], days: int = 1) -> Record:
    return Record(days, 20, kind, data, ACCEPTED + timedelta(days=days))  # type: ignore[arg-type]


RECORDS = [
    rec("daily_checkin", {"mood": 4, "self_care_done": True, "note": "argued with mum",
                          "boundary_moment": "said no"}),
    rec("balance_checkin", {"over_giving": 9, "self_reliance": 5, "og_mood": 3}),
    rec("journal", {"situation": "dinner"}),
    rec("boundary_script", {"dm_describe": "you came late"}),
    rec("safety_plan", {"plan_person": "my sister"}),
    rec("daily_checkin", {"mood": 7}, days=-1),  # before accepting
]


def test_by_default_only_numbers_from_after_acceptance() -> None:
    shown = visible_records(RECORDS, Sharing(), ACCEPTED, None)
    assert [(r.kind, r.data) for r in shown] == [
        ("daily_checkin", {"mood": 4, "self_care_done": True}),
        ("balance_checkin", {"over_giving": 9, "self_reliance": 5}),
    ]


def test_free_text_and_scripts_only_when_ticked_and_never_the_safety_plan() -> None:
    words = visible_records(RECORDS, Sharing(free_text=True), ACCEPTED, None)
    assert words[0].data["note"] == "argued with mum"
    assert [r.kind for r in words] == ["daily_checkin", "balance_checkin", "journal"]
    scripts = visible_records(RECORDS, Sharing(scripts=True), ACCEPTED, None)
    assert [r.kind for r in scripts] == ["daily_checkin", "balance_checkin", "boundary_script"]
    everything = visible_records(RECORDS, Sharing(True, True), ACCEPTED, None)
    assert "safety_plan" not in {r.kind for r in everything}


def test_nothing_before_acceptance_or_after_revocation() -> None:
    assert visible_records(RECORDS, Sharing(True, True), None, None) == []
    assert visible_records(RECORDS, Sharing(True, True), ACCEPTED, ACCEPTED) == []


def test_ticks_round_trip_and_only_true_counts() -> None:
    assert Sharing.from_json({"free_text": "yes", "scripts": True}) == Sharing(False, True)
    assert Sharing.from_json(Sharing(True, False).to_json()) == Sharing(True, False)


def test_the_homework_model_imports_no_telegram_or_database_module() -> None:
    """Pure: scheduling, links and sharing rules run without Telegram or a database."""
    import subprocess
    import sys

    code = ("import sys, bot.homework\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('telegram', 'asyncpg', 'sqlite3', '_sqlite3', 'httpx') or m.startswith('bot.tg') "
            "or m.startswith('bot.storage'))\n"
            "print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"
