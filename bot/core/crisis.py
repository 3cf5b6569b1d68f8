"""The crisis categories: the one list that the screen's rules, the routes in
`_global.yaml` and the resources file all name.

It lives in the core (pure data, no I/O) so that the dialogue validator can check that
every category has a route without importing the screen, and the screen can check that
every rule names a known category without importing the dialogues.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "CATEGORY_HINTS"]

#: Every category the screen can flag; each has its own route and its own resources.
CATEGORIES: tuple[str, ...] = (
    "suicide_self_harm",  # wish to be dead .. thoughts, method, intent, plan, attempt
    "domestic_violence",  # violence, strangulation, threats, fear, coercive control, stalking
    "child_abuse",  # a child (age or school marker) harmed or groomed; wins over domestic
    "sexual_violence",  # rape, assault, coercion, image-based abuse
    "harm_to_others",  # the person says they might hurt someone
    "someone_else",  # someone else is in danger (a friend's plan to die, say)
)

CATEGORY_HINTS: dict[str, str] = {
    "suicide_self_harm": "suicide and self-harm",
    "domestic_violence": "harm from a partner, ex-partner or family member at home",
    "child_abuse": "harm to a child or young person",
    "sexual_violence": "sexual violence",
    "harm_to_others": "an urge or plan to hurt someone else",
    "someone_else": "someone else in danger",
}
