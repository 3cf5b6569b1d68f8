"""Value types: frozen, validated, hashable (no untyped bags cross the storage boundary)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.storage import Consent, UserRecord


def test_consent_is_an_immutable_hashable_mapping() -> None:
    consent = Consent({"store_answers": True, "adult": False})
    assert consent == {"adult": False, "store_answers": True}
    assert hash(consent) == hash(Consent({"adult": False, "store_answers": True}))
    assert consent.granted("store_answers") and not consent.granted("missing")
    assert consent.with_flag("adult", True)["adult"] is True
    assert consent["adult"] is False  # with_flag returned a copy
    with pytest.raises(TypeError):
        consent["adult"] = True  # type: ignore[index]
    with pytest.raises(TypeError):
        Consent({"adult": 1})  # type: ignore[dict-item]


def test_user_record_is_frozen_and_validated() -> None:
    user = UserRecord(1, 1, consent={"adult": True})
    assert isinstance(user.consent, Consent)
    assert hash(user) == hash(UserRecord(1, 1, consent=Consent({"adult": True})))
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.session = "{}"  # type: ignore[misc]
    with pytest.raises(TypeError):
        UserRecord(True, 1)
    with pytest.raises(ValueError, match="NUL"):
        UserRecord(1, 1, session="a\x00")
    with pytest.raises(ValueError, match="timezone"):
        UserRecord(1, 1, created_at=datetime(2025, 1, 1))
    assert UserRecord(1, 1, created_at=datetime(2025, 1, 1, tzinfo=UTC)).created_at
