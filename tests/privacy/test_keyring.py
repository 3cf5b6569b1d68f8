"""The key ring: authenticated, bound to its place, rotatable, and never shows a key."""

from __future__ import annotations

import pytest

from bot.privacy.keyring import KeyConfigError, KeyRing, Unreadable, is_sealed, new_key_entry


def test_seal_and_open_round_trip_with_a_fresh_nonce_each_time() -> None:
    ring = KeyRing.parse(new_key_entry("a"))
    first = ring.seal("my partner reads my phone", "users.session:1")
    second = ring.seal("my partner reads my phone", "users.session:1")
    assert first != second and is_sealed(first) and first.startswith("rb1.a.")
    assert "partner" not in first
    assert ring.open(first, "users.session:1") == "my partner reads my phone"


def test_a_value_does_not_open_in_another_place_or_after_tampering() -> None:
    ring = KeyRing.parse(new_key_entry("a"))
    sealed = ring.seal("secret", "records.data:1")
    with pytest.raises(Unreadable):
        ring.open(sealed, "records.data:2")  # another person's row
    with pytest.raises(Unreadable):
        ring.open(sealed, "users.session:1")  # another column
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(Unreadable):
        ring.open(flipped, "records.data:1")


def test_an_old_key_still_opens_until_it_is_dropped() -> None:
    old = KeyRing.parse(new_key_entry("old"))
    sealed = old.seal("kept", "c")
    rotated = old.with_new_current(new_key_entry("new"))
    assert rotated.ids == ("new", "old")
    assert rotated.open(sealed, "c") == "kept"
    assert rotated.seal("x", "c").startswith("rb1.new.")
    with pytest.raises(Unreadable, match="'old', which is not in the key ring"):
        rotated.only_current().open(sealed, "c")
    assert KeyRing.parse(rotated.entries()).ids == ("new", "old")  # the file format


def test_bad_keys_are_explained_without_showing_them() -> None:
    good = new_key_entry("k1")
    secret = good.split(":", 1)[1]
    for text, message in (
        ("", "empty"),
        (f"bad id!:{secret}", "bad id"),
        ("k1:tooshort", "not 32 bytes"),
        (f"k1:{secret},k1:{new_key_entry().split(':', 1)[1]}", "used for two different keys"),
    ):
        with pytest.raises(KeyConfigError, match=message) as caught:
            KeyRing.parse(text)
        assert secret not in str(caught.value) and "tooshort" not in str(caught.value)
    assert secret not in repr(KeyRing.parse(good))
    assert KeyRing.parse(secret).current == "k0"  # a bare key gets an id
