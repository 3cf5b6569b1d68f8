"""Safety: crisis screening before each step, with patterns per language as data."""

from bot.safety.screen import Flag, Screen

__all__ = ["Flag", "Screen"]
