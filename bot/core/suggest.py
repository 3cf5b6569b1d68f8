"""Did-you-mean: the likely fix for a misspelt name, used by every check's hints.

Authors mistype state, variable, module, intent and key names. A hint that names the
closest existing one ("did you mean 'boundary'?") is the fix in one glance; when nothing
is close and the choice is short, the hint lists the names there are.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean", "suggest"]

LISTED = 12  # at most this many names are listed when none is close


def closest(name: str, options: Iterable[str]) -> str | None:
    """The option most like `name`, if one is close enough to be a likely typo."""
    candidates = [o for o in options if o != name]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:  # a different case or a word dropped: compare without _ and case
        folded = {o.replace("_", "").casefold(): o for o in candidates}
        near = difflib.get_close_matches(name.replace("_", "").casefold(), folded, n=1,
                                         cutoff=0.75)
        close = [folded[near[0]]] if near else []
    return close[0] if close else None


def did_you_mean(name: str, options: Iterable[str], prefix: str = "") -> str:
    """' did you mean X?' for the closest of `options`, or nothing."""
    close = closest(name, options)
    return f"{prefix}did you mean '{close}'?" if close else ""


def suggest(name: str, options: Iterable[str], what: str) -> str:
    """A hint for an unknown `what` (state, module...): did-you-mean, else the names."""
    names = sorted(set(options))
    close = closest(name, names)
    if close:
        return f"did you mean '{close}'?"
    if not names:
        return ""
    if len(names) <= LISTED:
        return f"no {what} is named like that; the {what}s are: {', '.join(names)}"
    return f"no {what} is named like that (there are {len(names)})"
