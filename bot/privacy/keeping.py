"""What the conversation does to keep the consent promise, as small hooks.

Why this module exists: `bot.conversation` applies every update, but the rules about
what may be kept belong to privacy. The conversation calls these two hooks:

- `notice_for(user)`: a person whose saved answers were deleted by retention, or whose
  data can no longer be read (the key was lost), starts fresh and is told so once;
- `forget_on_withdrawal(tx, before, after)`: a "yes" to storing answers that becomes a
  "no" (the welcome asks to confirm first) erases the records kept under the yes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.logs import user_ref
from bot.storage import Notice, Transaction, UserRecord

__all__ = ["NOTICE_STRINGS", "forget_on_withdrawal", "notice_for"]

log = logging.getLogger(__name__)

#: The `_global.yaml` string shown for each notice.
NOTICE_STRINGS: dict[Notice, str] = {
    Notice.EXPIRED: "notice_expired",
    Notice.UNREADABLE: "notice_unreadable",
}


def notice_for(user: UserRecord | None) -> str | None:
    """The string key to show before this person's next reply, if any."""
    if user is None or user.notice is None:
        return None
    return NOTICE_STRINGS.get(user.notice)


async def forget_on_withdrawal(tx: Transaction, before: Mapping[str, bool],
                               after: Mapping[str, bool]) -> int:
    """Erase the person's records if consent to store answers was just withdrawn."""
    if not (before.get("store_answers") and not after.get("store_answers")):
        return 0
    erased = await tx.delete_records()
    log.info("consent withdrawn: records erased user=%s count=%d", user_ref(tx.user_id), erased)
    return erased
