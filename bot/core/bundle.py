"""Load a whole dialogues folder (given as texts) into a checked `Bundle`.

The caller reads the files; this module only parses, checks shape, builds the model and
runs the semantic checks, returning every diagnostic. A folder with errors still yields
a bundle of whatever could be built, so one run reports everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath

from bot.core.build import build_dialogue, build_global
from bot.core.diagnostics import CODES, Diagnostic, sort_key
from bot.core.format import DIALOGUE, GLOBAL, RESOURCES, check_shape
from bot.core.loader import load_yaml
from bot.core.model import Bundle, Dialogue, GlobalConfig
from bot.core.resources import RESOURCES_FILE, Resources, build_resources
from bot.core.validate import validate

__all__ = ["GLOBAL_FILE", "RESOURCES_FILE", "load_bundle"]

GLOBAL_FILE = "_global.yaml"


def _fallback_config() -> GlobalConfig:
    return GlobalConfig(("en",), "", "", (), {}, {}, {})


def load_bundle(sources: Mapping[str, str]) -> tuple[Bundle, list[Diagnostic]]:
    """`sources` maps file names to their text: `_global.yaml`, one file per module and,
    optionally, `resources.yaml` (the crisis numbers)."""
    diagnostics: list[Diagnostic] = []
    config = _fallback_config()
    global_name = next((f for f in sources if PurePath(f).name == GLOBAL_FILE), None)
    if global_name is None:
        diagnostics.append(CODES["D047"].at(GLOBAL_FILE, (1, 1, 1, 2)))
    else:
        ld = load_yaml(sources[global_name], global_name)
        if check_shape(ld, GLOBAL):
            config = build_global(ld)
        diagnostics += ld.diagnostics
    resources: Resources | None = None
    resources_name = next((f for f in sources if PurePath(f).name == RESOURCES_FILE), None)
    if resources_name is not None:
        ld = load_yaml(sources[resources_name], resources_name)
        if check_shape(ld, RESOURCES):
            resources = build_resources(ld)
        diagnostics += ld.diagnostics
    dialogues: dict[str, Dialogue] = {}
    unbuilt: set[str] = set()
    for name in sorted(sources):
        if name in (global_name, resources_name):
            continue
        ld = load_yaml(sources[name], name)
        ok = check_shape(ld, DIALOGUE)
        if ok:
            d = build_dialogue(ld, config.languages)
            stem = PurePath(name).stem
            if d.id != stem:
                ld.diag("D016", ("dialogue",), f"rename the file to {d.id}.yaml, or the id to "
                        f"{stem}", id=d.id, stem=stem)
            if d.id in dialogues:
                ld.diag("D015", ("dialogue",), what="dialogue", id=d.id,
                        where=f"is also used by {dialogues[d.id].file}")
            else:
                dialogues[d.id] = d
        else:
            named = ld.data.get("dialogue") if isinstance(ld.data, dict) else None
            unbuilt.add(named if isinstance(named, str) else PurePath(name).stem)
        diagnostics += ld.diagnostics
    bundle = Bundle(config, dialogues, frozenset(unbuilt), resources,
                    resources_broken=resources_name is not None and resources is None)
    diagnostics += validate(bundle)
    diagnostics.sort(key=sort_key)
    return bundle, diagnostics
