"""The command menu (`setMyCommands`): optional, so it never stops the bot.

Telegram shows the menu next to the text field; every command works without it. A
self-hosted Bot API server or an emulator may not implement the call (404) or may fail
it (500, a timeout), so the first attempt is bounded, a failure is one warning, and the
menu is retried in the background with backoff while the bot serves.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot.background import Background
from bot.core.compile import CompiledBundle
from bot.tg.handlers import COMMANDS

__all__ = ["CommandMenu", "register_commands"]

log = logging.getLogger(__name__)

Menus = list[tuple[str | None, list[BotCommand]]]  # (language_code or default, commands)


class CommandMenu:
    def __init__(self, bot: Bot, menus: Menus, *, first_try: float = 15.0,
                 backoff: float = 5.0, max_delay: float = 600.0) -> None:
        self.bot, self.menus = bot, menus
        self.first_try, self.backoff, self.max_delay = first_try, backoff, max_delay
        self._retrying = Background("command-menu")

    async def register(self) -> None:
        """Set every menu now; on failure warn once and keep trying in the background."""
        try:
            await asyncio.wait_for(self._set_all(), self.first_try)
        except (TelegramError, TimeoutError) as exc:
            log.warning("could not set the command menu (%s); serving without it and "
                        "retrying in the background", _why(exc))
            self._retrying.start(self._retry())

    async def close(self) -> None:
        await self._retrying.close()

    async def _set_all(self) -> None:
        for language, commands in self.menus:
            await self.bot.set_my_commands(commands, language_code=language)

    async def _retry(self) -> None:
        delay = self.backoff
        while True:
            await asyncio.sleep(delay)
            try:
                await asyncio.wait_for(self._set_all(), self.first_try)
            except (TelegramError, TimeoutError) as exc:
                log.debug("the command menu failed again (%s)", _why(exc))
                delay = min(delay * 2, self.max_delay)
            else:
                log.info("command menu set")
                return


async def register_commands(bot: Bot, compiled: CompiledBundle) -> CommandMenu:
    """The command menu in every language (English also as the default), set or retrying.
    A command whose description the dialogues do not define (`cmd_<name>` in
    `_global.yaml`) is left out of the menu, never shown as its key; it still works."""
    listed = [name for name in COMMANDS if f"cmd_{name}" in compiled.strings]
    menus: Menus = []
    for language in (None, *compiled.config.languages):
        lang = language or "en"
        menus.append((language, [BotCommand(name, compiled.string(f"cmd_{name}", lang))
                                 for name in listed]))
    menu = CommandMenu(bot, menus)
    await menu.register()
    return menu


def _why(exc: BaseException) -> str:
    """The server's own words ("Not Found", "Internal Server Error"), not the class name:
    python-telegram-bot calls every 404 `InvalidToken`, though getMe already took it."""
    if isinstance(exc, TelegramError):
        return exc.message
    return "no answer in time"
