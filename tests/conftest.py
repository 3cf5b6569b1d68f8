"""Shared test settings: python-telegram-bot's timedelta mode, as relbot runs it."""

import os

os.environ.setdefault("PTB_TIMEDELTA", "true")
