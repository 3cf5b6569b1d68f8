"""Deep-link payloads: Telegram's alphabet and length, entropy, one neutral failure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.homework import LINK_TTL, LinkKind, hash_token, new_link, parse_payload

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.mark.parametrize("kind", list(LinkKind))
def test_payloads_fit_telegram_and_carry_enough_randomness(kind: LinkKind) -> None:
    links = [new_link(kind, NOW) for _ in range(200)]
    for link in links:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", link.payload)
        # 32 characters of base64url after the prefix: 192 bits.
        assert len(link.payload) - 2 == 32 and 32 * 6 >= 128
        assert link.expires_at == NOW + LINK_TTL == NOW + timedelta(days=14)
        assert parse_payload(link.payload) == (kind, link.token_hash)
        assert link.token_hash == hash_token(link.payload) != link.payload
        assert link.url("relbot") == f"https://t.me/relbot?start={link.payload}"
        assert link.command == f"/start {link.payload}"
    assert len({link.payload for link in links}) == len(links)


@pytest.mark.parametrize("payload", [
    "", "t_", "x_" + "a" * 32, "t_" + "a" * 31, "t_" + "a" * 33, "t_" + "a" * 31 + "!",
    "T_" + "a" * 32, "t-" + "a" * 32, "a_" + "a" * 32 + "\n",
])
def test_malformed_payloads_are_simply_not_valid(payload: str) -> None:
    assert parse_payload(payload) is None


def test_a_tampered_payload_hashes_to_something_else() -> None:
    link = new_link(LinkKind.ASSIGNMENT, NOW)
    tampered = link.payload[:-1] + ("A" if link.payload[-1] != "A" else "B")
    parsed = parse_payload(tampered)
    assert parsed is not None and parsed[1] != link.token_hash


def test_link_lifetimes_must_make_sense() -> None:
    with pytest.raises(ValueError):
        new_link(LinkKind.THERAPIST, NOW, timedelta(0))
    with pytest.raises(ValueError):
        new_link(LinkKind.THERAPIST, NOW.replace(tzinfo=None))


def test_the_qr_code_is_a_png_of_the_link() -> None:
    from bot.homework.qr import qr_png

    link = new_link(LinkKind.ASSIGNMENT, NOW)
    png = qr_png(link.url("relbot"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == height >= 300  # big enough to scan from a phone screen
