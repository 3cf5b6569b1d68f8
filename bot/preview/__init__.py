"""`relbot preview`: play a module in the browser while editing its YAML.

Like the play-as-you-write previews of interactive-fiction tools (Inky, Yarn Spinner's
editor), a local page shows the chat exactly as on Telegram (the same turn, buttons,
message splitting and notices), the module's state diagram with the current state
highlighted, and the file's diagnostics, all reloaded within a second of a save. The
page is plain HTML, CSS and a little JavaScript served from `static/`: no build step,
no network.
"""

from bot.preview.server import Preview, make_app
from bot.preview.workspace import Workspace

__all__ = ["Preview", "Workspace", "make_app"]
