"""`/metrics` scraped as Prometheus would, from a running bot (processes, the fake Telegram).

What an operator reads there after a few people talked to the bot: updates by type, step
latency, Bot API calls by method and outcome (a 429 and a 403 among them), the outbox
backlog, crisis flags by category, reminders due; and nothing that identifies a person.
Webhook mode serves it on the webhook port, polling mode on HEALTH_PORT; METRICS=0 turns
it off.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakegram import FakeTelegram
from prometheus_client.parser import text_string_to_metric_families

from .conftest import next_user_id
from .harness import PROGRAMME, BotProcess, Person, free_port, running, wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

DOCUMENTED = (  # README.md, "Metrics"
    "relbot_updates_total", "relbot_step_seconds_bucket", "relbot_step_seconds_count",
    "relbot_bot_api_calls_total", "relbot_outbox_backlog",
    "relbot_outbox_oldest_pending_seconds", "relbot_crisis_flags_total", "relbot_reminders_due",
)  # fmt: skip


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


def scrape(url: str) -> tuple[str, Samples]:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def test_webhook_metrics_after_people_talked(own_fake: FakeTelegram, tmp_path: Path) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path, webhook=True, dialogues=PROGRAMME,
                     env={"RELBOT_TIME_SCALE": "0.05"})
    with running(bot):
        url = f"http://127.0.0.1:{bot.webhook_port}/metrics"
        ana, ben = Person(fake, next_user_id()), Person(fake, next_user_id())
        fake.fail_next("sendMessage", 429, retry_after=1, chat_id=ana.id)
        ana.command("start")
        ana.expect("")  # the 429 was waited out
        ana.send("I want to kill myself")
        ana.expect("It sounds like things might be really hard for you")
        fake.block(ben.id)
        ben.command("start")
        wait_until(lambda: value(scrape(url)[1], "relbot_bot_api_calls_total",
                                 method="sendMessage", outcome="403") >= 1, what="a 403")
        wait_until(lambda: scrape(url)[1].get(("relbot_outbox_backlog", ())) == 0,
                   what="every reply sent")
        body, samples = scrape(url)
    bot.assert_healthy()

    for name in DOCUMENTED:
        assert any(n == name for n, _ in samples), f"{name} is not exported"
    assert value(samples, "relbot_updates_total", type="message", verdict="applied") >= 3
    assert value(samples, "relbot_step_seconds_count") >= 3
    assert value(samples, "relbot_step_seconds_sum") > 0
    assert value(samples, "relbot_bot_api_calls_total", method="sendMessage", outcome="ok") >= 2
    assert value(samples, "relbot_bot_api_calls_total", method="sendMessage", outcome="429") == 1
    assert value(samples, "relbot_bot_api_calls_total", method="setWebhook", outcome="ok") == 1
    flags = {dict(labels)["category"]: v for (n, labels), v in samples.items()
             if n == "relbot_crisis_flags_total"}
    assert sum(flags.values()) == 1, flags
    assert value(samples, "relbot_outbox_oldest_pending_seconds") == 0
    assert value(samples, "relbot_reminders_due") == 0
    # Nothing that identifies a person: no id, no name, no word they wrote, no token.
    for secret in (str(ana.id), str(ben.id), "kill", "Ana", fake.token):
        assert secret not in body


def test_polling_serves_metrics_on_the_health_port_and_metrics_0_turns_it_off(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    bot = BotProcess(own_fake, tmp_path / "on", env={"HEALTH_PORT": str(port)})
    with running(bot):
        person = Person(own_fake, next_user_id())
        person.command("start")
        person.expect("")
        _, samples = scrape(f"http://127.0.0.1:{port}/metrics")
        assert value(samples, "relbot_updates_total", type="message", verdict="applied") >= 1
        assert total(samples, "relbot_bot_api_calls_total") >= 2  # getUpdates, sendMessage
        assert value(samples, "relbot_bot_api_calls_total", method="getUpdates",
                     outcome="ok") >= 1
    port = free_port()
    off = BotProcess(own_fake, tmp_path / "off", env={"HEALTH_PORT": str(port), "METRICS": "0"})
    with running(off):
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 404
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
