"""The deployment files, checked without a Docker engine (there is none on the test machines).

What can be checked here is checked for real: the Dockerfile is hadolint-clean and has the
shape the README promises; docker-compose.yml has PostgreSQL health-checked on a volume, a
one-shot `migrate` before any bot, and the webhook profile's replicas behind the proxy;
and the command lines the containers run (compose's `migrate` command, the image's CMD and
its HEALTHCHECK) are run here, with .env.example's settings, against the local PostgreSQL
and the fake Telegram: the schema is upgraded, the bot serves a person, the health check
passes and /metrics answers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fakegram import FakeTelegram

from bot.config import Settings

from .conftest import next_user_id
from .harness import E2E_DATA_KEY, REPO, BotProcess, Person, free_port, running

DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def instruction(name: str) -> list[str]:
    """The JSON (exec form) argument list of the image's last `name` instruction."""
    joined = DOCKERFILE.replace("\\\n", " ")
    found = re.findall(rf"^{name}\b.*?(\[.*\])\s*$", joined, flags=re.MULTILINE)
    assert found, f"no {name} in exec form"
    return list(json.loads(found[-1]))


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def installed(command: list[str]) -> list[str]:
    """A container command with its program from this environment (relbot, python)."""
    program = Path(sys.executable).parent / command[0]
    return [str(program if program.exists() else command[0]), *command[1:]]


def test_the_dockerfile_is_hadolint_clean_and_shaped_as_promised() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), "--no-color", str(REPO / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    bases = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert len(bases) == 2 and len(set(bases)) == 1  # multi-stage, one pinned base
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", bases[0]), bases[0]  # exact tag
    assert re.search(r"^USER \d+:\d+$", DOCKERFILE, flags=re.MULTILINE)  # numeric, not root
    assert "-c requirements.lock" in DOCKERFILE and "--no-index" in DOCKERFILE
    assert instruction("CMD") == ["relbot", "run"]
    assert "/healthz" in " ".join(instruction("HEALTHCHECK"))


def test_compose_has_postgres_health_checked_a_migration_and_the_webhook_profile() -> None:
    postgres = SERVICES["postgres"]
    assert re.fullmatch(r"postgres:\d+\.\d+-\w+", postgres["image"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert set(COMPOSE["volumes"]) >= {"pgdata"}
    migrate = SERVICES["migrate"]
    assert migrate["command"] == ["relbot", "db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("bot", "replica"):
        service = SERVICES[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["env_file"] == ".env" and "command" not in service  # the image's CMD
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://relbot:")
    replica = SERVICES["replica"]
    assert replica["profiles"] == ["webhook"] and replica["deploy"]["replicas"] == 3
    assert replica["environment"]["REPLICAS"] == "3"
    assert replica["environment"]["WEBHOOK_URL"].startswith("https://")
    caddyfile = (REPO / "deploy" / "Caddyfile").read_text()
    assert f"dynamic a replica {replica['environment']['PORT']}" in caddyfile
    assert "handle /telegram" in caddyfile  # only the webhook path is public
    assert SERVICES["bot"]["profiles"] == ["polling"]


def test_env_example_is_a_valid_configuration_once_filled_in() -> None:
    env = {**env_example(), "TELEGRAM_BOT_TOKEN": "1:x", "DATA_KEY": E2E_DATA_KEY,
           "DATABASE_URL": "postgresql://relbot:pw@postgres:5432/relbot"}
    settings = Settings.from_env(env)
    assert (settings.log_format, settings.metrics, settings.upgrade) == ("json", True, "refuse")


@pytest.fixture
def own_fake() -> Any:
    with FakeTelegram() as server:
        yield server


def test_the_containers_command_lines_run_against_postgres(
    own_fake: FakeTelegram, own_postgres_url: str, tmp_path: Path
) -> None:
    # .env.example's filled-in settings; the blanks are the operator's (token: the fake's)
    env = {k: v for k, v in env_example().items() if v and k != "COMPOSE_PROFILES"}
    env["DATA_KEY"] = E2E_DATA_KEY
    # compose's one-shot migration, as the migrate service runs it
    migrate = subprocess.run(installed(SERVICES["migrate"]["command"]),
                             env={**env, "DATABASE_URL": own_postgres_url, "PATH": ""},
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert migrate.returncode == 0, migrate.stderr
    assert "applied 1:" in migrate.stdout

    # the image's CMD with .env.example's settings (the bot service), then its HEALTHCHECK
    health_port = free_port()
    bot = BotProcess(own_fake, tmp_path / "bot", database_url=own_postgres_url,
                     command=installed(instruction("CMD")),
                     env={**env, "MIGRATE": "0", "HEALTH_PORT": str(health_port)})
    with running(bot):
        person = Person(own_fake, next_user_id())
        person.command("start")
        person.expect("")
        check = subprocess.run(installed(instruction("HEALTHCHECK")),
                               env={"HEALTH_PORT": str(health_port)},
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        assert json.loads(check.stdout)["ok"] is True
        metrics = httpx.get(f"http://127.0.0.1:{health_port}/metrics", timeout=10)
        assert "relbot_updates_total" in metrics.text
    records = [json.loads(line) for line in bot.stderr.splitlines()]  # LOG_FORMAT=json
    assert any("relbot started" in r["message"] for r in records)
