"""The dialogue core: YAML in, checked and compiled dialogues, and the pure `step`.

No Telegram, no database, no file I/O: adapters (`bot.tg`, `bot.cli`) read files and
render outputs. Import the submodules directly (`bot.core.engine`, `bot.core.bundle`, ...).
"""

__all__: list[str] = []
