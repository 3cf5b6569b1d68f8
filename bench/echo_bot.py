"""The floor for bench/http_latency.py: a bare python-telegram-bot echo bot.

Why this exists: relbot's reply latency over HTTP means little alone; next to the
smallest bot python-telegram-bot can run against the same fake Telegram, under the
same load, it shows what is ours. One handler, one sendMessage per text update, no
storage, no rate limiting; updates handled concurrently (`concurrent_updates(True)`),
as relbot handles chats concurrently, and a send waits as long for its answer as
relbot's do. Configured like `relbot run`, by environment:
TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL, and for webhook mode WEBHOOK_URL, WEBHOOK_SECRET,
PORT, LISTEN. Started as a module (`python -m bench.echo_bot`) by bench/http_latency.py.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

# Seconds, as relbot's sends (bot.tg.app); python-telegram-bot's default of 5 s ran out
# against the fake on a loaded machine with 200 people.
SEND_READ_TIMEOUT = 60.0


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text is not None:
        await context.bot.send_message(message.chat_id, message.text)


def main() -> None:
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .concurrent_updates(True)
        .read_timeout(SEND_READ_TIMEOUT)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    webhook_url = os.environ.get("WEBHOOK_URL")
    if webhook_url:
        application.run_webhook(
            listen=os.environ.get("LISTEN", "127.0.0.1"),
            port=int(os.environ["PORT"]),
            url_path=urlsplit(webhook_url).path.lstrip("/"),
            webhook_url=webhook_url,
            secret_token=os.environ.get("WEBHOOK_SECRET") or None,
        )
    else:
        application.run_polling()


if __name__ == "__main__":
    main()
