"""Turn shape-checked YAML data into the frozen model (`bot.core.model`).

Only called on data that passed `check_shape`, so it can index freely; it still never
raises on content and leaves judging meaning to `bot.core.validate`.
"""

from __future__ import annotations

from typing import Any

from bot.core.format import NEXT_KEYS
from bot.core.loader import Loaded, Path
from bot.core.model import (
    Arm,
    Ask,
    Choice,
    Dialogue,
    Gate,
    GlobalConfig,
    IntentAction,
    Returning,
    SafetyConfig,
    Save,
    State,
    Text,
)

__all__ = ["build_dialogue", "build_global", "text"]


def text(value: Any, path: Path) -> Text:
    if isinstance(value, str):
        return Text({"en": value}, path)
    return Text(dict(value), path)


def _texts(value: Any, path: Path) -> tuple[Text, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(text(v, (*path, i)) for i, v in enumerate(value))
    return (text(value, path),)


def _sets(data: dict[str, Any] | None, path: Path) -> dict[str, Any]:
    """`set:` values: plain values as they are, per-language mappings as `Text`."""
    return {name: text(value, (*path, name)) if isinstance(value, dict) else value
            for name, value in (data or {}).items()}


def _intent(name: str, data: dict[str, Any], path: Path) -> IntentAction:
    words = {lang: tuple(ws) for lang, ws in (data.get("words") or {}).items()}
    return IntentAction(
        name=name, words=words, say=_texts(data.get("say"), (*path, "say")),
        goto=data.get("goto"), call=data.get("call"), back=bool(data.get("back")),
        restart=bool(data.get("restart")), path=path,
    )


def _overrides(data: dict[str, Any] | None, path: Path) -> dict[str, IntentAction | None]:
    out: dict[str, IntentAction | None] = {}
    for name, value in (data or {}).items():
        out[name] = None if value == "off" else _intent(name, value, (*path, name))
    return out


def _state(name: str, data: dict[str, Any], path: Path) -> State:
    # `ask` next to `choices` is the typed-text fallback of a button question; its `goto`
    # belongs to the ask. Neither counts as a second thing to do next.
    kinds = [k for k in NEXT_KEYS if k in data
             and not (k == "goto" and "ask" in data) and not (k == "ask" and "choices" in data)]
    end = data.get("end")
    save = data.get("save")
    ask = data.get("ask")
    return State(
        name=name,
        kind=kinds[0] if len(kinds) == 1 else "",
        say=_texts(data.get("say"), (*path, "say")),
        set=_sets(data.get("set"), (*path, "set")),
        save=Save(save["kind"], tuple(save["fields"]), (*path, "save")) if save else None,
        columns=data.get("columns", 1),
        choices=tuple(
            Choice(c["id"], text(c["label"], (*path, "choices", i, "label")), c["goto"],
                   _sets(c.get("set"), (*path, "choices", i, "set")), dict(c.get("add") or {}),
                   (*path, "choices", i))
            for i, c in enumerate(data.get("choices") or [])
        ),
        ask=Ask(
            ask.get("into"), ask["kind"], ask.get("max_length", 500), ask.get("min"),
            ask.get("max"),
            text(ask["retry"], (*path, "ask", "retry")) if "retry" in ask else None,
            (*path, "ask"),
            bool(ask.get("practice", False)),
        ) if ask else None,
        goto=data.get("goto"),
        branch=tuple(Arm(a.get("if"), a["goto"], (*path, "branch", i))
                     for i, a in enumerate(data.get("branch") or [])),
        call=data.get("call"),
        return_to=data.get("return_to"),
        end_next=end.get("next") if isinstance(end, dict) else None,
        intents=_overrides(data.get("intents"), (*path, "intents")),
        timeout=data.get("timeout"),
        retry=text(data["retry"], (*path, "retry")) if "retry" in data else None,
        resources=tuple(data["resources"]) if "resources" in data else None,
        path=path,
    )


def build_dialogue(ld: Loaded, default_languages: tuple[str, ...]) -> Dialogue:
    d = ld.data
    return Dialogue(
        id=d["dialogue"],
        title=text(d["title"], ("title",)),
        description=text(d["description"], ("description",)) if "description" in d else None,
        languages=tuple(d.get("languages") or default_languages),
        start=d["start"],
        variables=dict(d.get("variables") or {}),
        keep=tuple(d.get("keep") or ()),
        intents=_overrides(d.get("intents"), ("intents",)),
        states={n: _state(n, s, ("states", n)) for n, s in d["states"].items()},
        source=ld,
        safety_gate=bool(d.get("safety_gate")),
        passes={k: tuple(v) for k, v in (d.get("passes") or {}).items()},
    )


def build_global(ld: Loaded) -> GlobalConfig:
    d = ld.data
    return GlobalConfig(
        languages=tuple(d["languages"]),
        start=d["start"],
        menu=d["menu"],
        consent=tuple(d.get("consent") or ()),
        intents={n: _intent(n, v, ("intents", n)) for n, v in (d.get("intents") or {}).items()},
        words={k: {lang: tuple(ws) for lang, ws in v.items()}
               for k, v in (d.get("words") or {}).items()},
        strings={k: text(v, ("strings", k)) for k, v in (d.get("strings") or {}).items()},
        source=ld,
        requires=tuple(d.get("requires") or ()),
        safety=_safety(d["safety"]) if "safety" in d else None,
        returning=Returning(float(d["returning"]["after_hours"]), d["returning"]["dialogue"],
                            ("returning",)) if "returning" in d else None,
    )


def _safety(data: dict[str, Any]) -> SafetyConfig:
    gate = data.get("gate")
    return SafetyConfig(
        routes=dict(data["routes"]),
        gate=Gate(gate["dialogue"], gate["when"], ("safety", "gate")) if gate else None,
        path=("safety",),
    )
