"""Fixtures for the core tests: the compiled example dialogues, shared per session."""

from __future__ import annotations

import pytest

from bot.core.compile import CompiledBundle

from .helpers import EXAMPLES, Chat, compile_folder


@pytest.fixture(scope="session")
def examples() -> CompiledBundle:
    """`dialogues/examples`, compiled once."""
    return compile_folder(EXAMPLES)


@pytest.fixture
def chat(examples: CompiledBundle) -> Chat:
    """A fresh English chat over the examples."""
    return Chat(examples)
