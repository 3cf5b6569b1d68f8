"""The Telegram adapter: the only package that imports `telegram`.

python-telegram-bot 22 warns when `RetryAfter.retry_after` is read as seconds; with
PTB_TIMEDELTA it is a timedelta, which the sender expects. Set it before `telegram` loads.
"""

import os

os.environ.setdefault("PTB_TIMEDELTA", "true")
