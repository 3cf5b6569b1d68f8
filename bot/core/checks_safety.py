"""Checks on the safety parts of a folder: the routes, the gate and the crisis numbers.

Part of the named checks (`bot.core.validate` runs them all). A person who discloses
danger must always reach help, so these are errors, not style: every crisis category has
a route to a module that exists, the safety gate can open, every country has an
emergency number, every helpline can be reached, numbers are shown only where a folder
has them, and a `checked:` date is a real date (and not much older than the rest).
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.checks_flow import Report, placeholders
from bot.core.crisis import CATEGORIES, CATEGORY_HINTS
from bot.core.model import Bundle, Dialogue, Text, Value
from bot.core.resources import COUNTRY_VARIABLE, WORDING_VALUES, Resources
from bot.core.suggest import suggest

__all__ = ["STALE_AFTER", "check_gate", "check_resources", "check_routes",
           "check_safety_states"]

#: A `checked:` date this much older than the file's newest one gets a warning (W304).
STALE_AFTER = timedelta(days=365)


def check_routes(bundle: Bundle, report: Report) -> None:
    """Every crisis category has a route (D050), to a module that exists (D012)."""
    safety = bundle.config.safety
    if safety is None:
        return
    for category in CATEGORIES:
        target = safety.routes.get(category)
        if target is None:
            report("D050", (*safety.path, "routes"), f"add `{category}: <module>` under routes",
                   key=True, category=category, about=CATEGORY_HINTS[category])
        elif not bundle.has(target):
            report("D012", (*safety.path, "routes", category),
                   suggest(target, bundle.dialogues, "module"), target=target)


def check_gate(bundle: Bundle, report: Report) -> None:
    """The gate's module exists (D012) and its variable is kept, true/false, and some
    module sets it to true (D055)."""
    safety = bundle.config.safety
    gate = safety.gate if safety else None
    if gate is None:
        return
    if not bundle.has(gate.dialogue):
        report("D012", (*gate.path, "dialogue"), suggest(gate.dialogue, bundle.dialogues, "module"),
               target=gate.dialogue)
    kept = [d for d in bundle.dialogues.values() if gate.when in d.keep]
    if not kept:
        report("D055", (*gate.path, "when"), reason=f"no module keeps '{gate.when}' (`keep:`)")
    elif not all(isinstance(d.variables.get(gate.when), bool) for d in kept):
        report("D055", (*gate.path, "when"),
               reason=f"'{gate.when}' is not a true/false variable")
    elif not any(value is True for d in bundle.dialogues.values()
                 for value in _values_set(d, gate.when)):
        report("D055", (*gate.path, "when"), reason=f"no module sets '{gate.when}' to true")


def _values_set(d: Dialogue, name: str) -> list[Value | Text]:
    """Every value a module's states and buttons set `name` to."""
    out = []
    for state in d.states.values():
        if name in state.set:
            out.append(state.set[name])
        out += [c.set[name] for c in state.choices if name in c.set]
    return out


def check_safety_states(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """The gate a module asks for exists (D054); numbers are shown only where the folder
    has them (D056) and not on a question (D057); a picked country is listed (D053)."""
    safety = bundle.config.safety
    if d.safety_gate and (safety is None or safety.gate is None):
        report("D054", ("safety_gate",), key=True, module=d.id)
    for state in d.states.values():
        if state.resources is None:
            continue
        where = (*state.path, "resources")
        if bundle.resources is None and not bundle.resources_broken:
            report("D056", where, state=state.name)
        if state.kind in ("choices", "ask") or state.ask is not None:
            report("D057", where, state=state.name)
    if bundle.resources is None:
        return
    countries = bundle.resources.countries
    for state in d.states.values():
        places = [(state.path, state.set)] + [(c.path, c.set) for c in state.choices]
        for path, values in places:
            code = values.get(COUNTRY_VARIABLE)
            if isinstance(code, str) and code and code not in countries:
                report("D053", (*path, "set", COUNTRY_VARIABLE),
                       suggest(code, countries, "country"), country=code)


def check_resources(bundle: Bundle, report: Report) -> None:
    """Emergency numbers (D051), reachable lines (D052), dates (D006, W304), wording."""
    resources = bundle.resources
    if resources is None:
        return
    for code, country in resources.countries.items():
        if not country.emergency:
            report("D051", ("countries", code), key=True, country=code)
    dates: list[tuple[date, tuple[str | int, ...]]] = []
    for line in resources.lines():
        if not (line.number or line.text or line.web):
            report("D052", line.path)
        try:
            dates.append((date.fromisoformat(line.checked), line.path))
        except ValueError:
            report("D006", (*line.path, "checked"), "write the date you checked it as YYYY-MM-DD",
                   value=line.checked, expected="a real date")
    if dates:
        newest = max(day for day, _ in dates)
        for day, path in dates:
            if newest - day > STALE_AFTER:
                report("W304", (*path, "checked"), day=day, newest=newest)
    _check_words(bundle, resources, report)


def _check_words(bundle: Bundle, resources: Resources, report: Report) -> None:
    """Wording uses only its own placeholders; texts have every language."""
    for key, text in resources.wording.items():
        allowed = WORDING_VALUES.get(key, ())
        for words in text.variants.values():
            try:
                used = placeholders(words)
            except ValueError as exc:
                report("D025", text.path, problem=exc)
                continue
            for name in used:
                if name not in allowed:
                    report("D021", text.path, "use "
                           + (", ".join(f"{{{a}}}" for a in allowed) or "no placeholder"),
                           name=name, what="this wording")
    # A name written as plain text (Samaritans, 988) is the same in every language.
    names = [c.name for c in resources.countries.values()]
    names += [t for line in resources.lines() for t in (line.name, line.where) if t]
    texts = [*resources.wording.values(), *(t for t in names if len(t.variants) > 1)]
    for t in texts:
        for lang in bundle.config.languages:
            if lang not in t.variants:
                report("W301", t.path, lang=lang)
