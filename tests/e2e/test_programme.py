"""The real programme, end to end: /start -> welcome (language, 18+, consent) -> menu ->
the daily check-in to its end, in English by buttons and in Spanish by typing; in long
polling mode on SQLite and in webhook mode on PostgreSQL. Also crisis screening in the
middle of a module, and /export and /delete of what was saved.

The conversations (``programme.py``) take ~20 s each at Telegram's pace, so they all run
at once, started in the background as soon as the session starts (``conftest``); each
test here waits for one of them.
"""

from __future__ import annotations

from fakegram import FakeTelegram

from .harness import Scenarios


def test_programme_in_english_by_buttons_polling_sqlite(programme_flows: Scenarios) -> None:
    programme_flows.result("en")


def test_programme_in_spanish_by_typing_polling_sqlite(programme_flows: Scenarios) -> None:
    programme_flows.result("es")


def test_crisis_text_mid_module_then_back_to_the_same_question(programme_flows: Scenarios) -> None:
    programme_flows.result("crisis-en")


def test_export_then_delete_with_confirmation(programme_flows: Scenarios) -> None:
    programme_flows.result("export-delete")


def test_programme_in_english_by_buttons_webhook_postgres(
    programme_webhook_flows: Scenarios,
) -> None:
    programme_webhook_flows.result("en")


def test_programme_in_spanish_by_typing_webhook_postgres(
    programme_webhook_flows: Scenarios,
) -> None:
    programme_webhook_flows.result("es")


def test_crisis_text_in_spanish_mid_module_webhook_postgres(
    programme_webhook_flows: Scenarios,
) -> None:
    programme_webhook_flows.result("crisis-es")


def test_webhook_updates_acknowledged_once_each(
    programme_webhook_flows: Scenarios, programme_webhook_fake: FakeTelegram
) -> None:
    """Every update was applied and acknowledged on its first delivery (no 5xx, no retry)."""
    for name in ("en", "es", "crisis-es"):
        programme_webhook_flows.result(name)
    deliveries = programme_webhook_fake.webhook_deliveries()
    assert deliveries and all(d.ok for d in deliveries)
    assert all(d.attempt == 1 for d in deliveries)
    assert len({d.update_id for d in deliveries}) == len(deliveries)
