"""`relbot export-text`: a module as Markdown, for reviewers who read words, not YAML.

Therapists and translators review what the bot says without reading the dialogue files.
For one module this prints its title, description and help, then every step in reading
order (breadth-first from the start): the messages in each of the module's languages side
by side, the buttons and where each leads in words, what a question accepts, branches as
plain-language conditions, and what is saved. `--all --out docs/modules` writes one file
per module plus `index.md`; `--check` fails (exit 1) when those files are out of date.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from bot.cli.folders import SHIPPED, compiled_or_exit, default_dir
from bot.core import expr
from bot.core.model import Dialogue, IntentAction, State, Text, Value

__all__ = [
    "add_parser",
    "condition_words",
    "export_all",
    "index_markdown",
    "module_markdown",
    "run",
]

LANGUAGE_NAMES = {"en": "English", "es": "Español"}  # other codes are shown as they are
_COMPARE = {
    ">=": "is at least",
    ">": "is more than",
    "<=": "is at most",
    "<": "is less than",
    "==": "is",
    "!=": "is not",
}
Modules = Mapping[str, Dialogue]
REPO = SHIPPED.parent


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-text", help="print a module as Markdown for reviewers")
    p.add_argument("module", nargs="?", help="module id")
    p.add_argument("--dir", type=Path, default=None, help="dialogues folder")
    p.add_argument("--all", action="store_true", help="every module, into --out")
    p.add_argument("--out", type=Path, default=None, help="folder for --all (docs/modules)")
    p.add_argument(
        "--check",
        action="store_true",
        help="with --all: exit 1 if the files in --out are not up to date",
    )
    p.set_defaults(func=run)


# --- words -----------------------------------------------------------------------------


def _lang(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def _cell(words: str) -> str:
    return words.replace("|", "\\|").replace("\n", "<br>").strip() or "—"


def _quote(t: Text | None, languages: Iterable[str]) -> str:
    """A short text inline: “English” / “Español” (each language once)."""
    if t is None:
        return ""
    seen = dict.fromkeys(t.get(lang).strip() for lang in languages)
    return " / ".join(f"“{w}”" for w in seen if w)


def _name(variable: str) -> str:
    return variable.replace("_", " ")


def _value(value: Value | Text) -> str:
    if isinstance(value, Text):
        return " / ".join(f"“{words}”" for words in value.variants.values())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"“{value}”" if isinstance(value, str) else f"{value:g}"


def _node_words(node: expr.Node) -> str:
    op, args = node.op, node.args
    if op in ("num", "str", "bool"):
        return _value(args[0])
    if op == "var":
        return _name(args[0])
    if op == "not":
        inner = args[0]
        if inner.op == "var":
            return f"{_name(inner.args[0])} is no"
        return f"not ({_node_words(inner)})"
    if op in ("and", "or"):
        parts = [
            _node_words(a) if a.op in (op, "not", *_COMPARE, "var") else f"({_node_words(a)})"
            for a in args
        ]
        return f" {op} ".join(_truthy(a, w) for a, w in zip(args, parts, strict=True))
    if op in ("+", "-"):
        return f"{_node_words(args[0])} {'plus' if op == '+' else 'minus'} {_node_words(args[1])}"
    left, right = args
    if op in ("==", "!=") and right.op == "str" and right.args[0] == "":
        return f"{_node_words(left)} {'is empty' if op == '==' else 'is filled in'}"
    return f"{_node_words(left)} {_COMPARE[op]} {_node_words(right)}"


def _truthy(node: expr.Node, words: str) -> str:
    return f"{words} is yes" if node.op == "var" else words


def condition_words(source: str) -> str:
    """`energy >= 7 and rested` -> `energy is at least 7 and rested is yes`."""
    try:
        node = expr.parse(source)
    except expr.ConditionError:
        return f"`{source}`"
    return _truthy(node, _node_words(node))


def _accepts(state: State) -> str:
    ask = state.ask
    assert ask is not None
    if ask.kind == "text":
        return f"a few words (at most {ask.max_length} characters)"
    if ask.kind == "yes_no":
        return "yes or no"
    low = ask.min if ask.min is not None else 0
    high = ask.max if ask.max is not None else (10 if ask.kind == "scale" else None)
    what = "a whole number" if ask.kind == "scale" else "a number"
    return f"{what} from {low:g} to {high:g}" if high is not None else f"{what} of at least {low:g}"


# --- one module ------------------------------------------------------------------------


def reading_order(d: Dialogue) -> list[str]:
    """States breadth-first from the start; any unreachable ones last, in file order."""
    order: list[str] = []
    queue = [d.start] if d.start in d.states else []
    while queue:
        name = queue.pop(0)
        if name in order:
            continue
        order.append(name)
        queue += [t for t in d.states[name].targets() if t in d.states and t not in order]
    return order + [n for n in d.states if n not in order]


class _Writer:
    """Builds the Markdown for one module; `number` maps state -> step number."""

    def __init__(self, d: Dialogue, modules: Modules) -> None:
        self.d, self.modules = d, modules
        self.langs = d.languages or ("en",)
        self.number = {name: i for i, name in enumerate(reading_order(d), start=1)}
        self.lines: list[str] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, rows: list[list[str]], extra: str = "") -> None:
        head = [_lang(lang) for lang in self.langs] + ([extra] if extra else [])
        self.add("", "| " + " | ".join(head) + " |", "|" + "---|" * len(head))
        self.add(*("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows))
        self.add("")

    def texts(self, texts: Iterable[Text]) -> None:
        rows = [[t.get(lang) for lang in self.langs] for t in texts]
        if rows:
            self.table(rows)

    def title_of(self, name: str) -> str:
        state = self.d.states[name]
        if state.say:
            words = " ".join(state.say[0].get("en").split())
            return words if len(words) <= 60 else words[:59].rstrip() + "…"
        if state.kind == "branch":
            return "a decision"
        if state.kind == "call":
            return f"{self.module_title(state.call or '')}, then back"
        if state.kind == "end":
            return "the end" + (
                f", then {self.module_title(state.end_next)}" if state.end_next else ""
            )
        return self.title_of(state.goto) if state.goto in self.d.states else name

    def to(self, name: str | None) -> str:
        if name not in self.number or name is None:
            return f"→ `{name}`"
        return f"→ [Step {self.number[name]}: {self.title_of(name)}](#step-{self.number[name]})"

    def module_title(self, module: str | None) -> str:
        other = self.modules.get(module or "")
        return f"“{other.title.get('en')}” (`{module}`)" if other else f"`{module}`"

    def intents(
        self, intents: Mapping[str, IntentAction | None], where: str, indent: str = ""
    ) -> None:
        for name, intent in sorted(intents.items()):
            if intent is None:
                self.add(f"{indent}- **{name}** is switched off {where}.")
                continue
            does = [_quote(t, self.langs) for t in intent.say]
            if intent.goto:
                does.append(f"then starts {self.module_title(intent.goto)}")
            if intent.call:
                does.append(f"then runs {self.module_title(intent.call)} and comes back")
            if intent.back:
                does.append("goes back to the previous question")
            if intent.restart:
                does.append("starts the module again")
            self.add(
                f"{indent}- **{name}** {where}: " + ", ".join(does or ["re-asks the question"])
            )

    def changes(self, set_: Mapping[str, Value], add: Mapping[str, float] | None = None) -> str:
        parts = [f"{_name(k)} = {_value(v)}" for k, v in set_.items()]
        parts += [f"{_name(k)} + {v:g}" for k, v in (add or {}).items()]
        return f"sets {', '.join(parts)} " if parts else ""

    def state(self, name: str) -> None:
        state, n = self.d.states[name], self.number[name]
        self.add(f'<a id="step-{n}"></a>', "", f"## Step {n} · `{name}`", "")
        if state.set:
            self.add(f"On arrival it {self.changes(state.set).strip()}.", "")
        if state.save:
            self.add(
                f"On arrival it saves a *{state.save.kind}* record (only if the person "
                f"agreed to store answers): {', '.join(map(_name, state.save.fields))}.",
                "",
            )
        self.texts(state.say)
        if state.resources is not None:
            lines = " and ".join(h.replace("_", " ") for h in state.resources)
            plural = "s" if len(state.resources) > 1 else ""
            self.add("Then the crisis numbers for the person's country (resources.yaml): the "
                     f"emergency number{f' and the {lines} line{plural}' if lines else ''}.", "")
        if state.choices:
            per_row = f" ({state.columns} per row)" if state.columns > 1 else ""
            self.add(f"Buttons{per_row}:")
            self.table(
                [
                    [c.label.get(lang) for lang in self.langs]
                    + [self.changes(c.set, c.add) + self.to(c.goto)]
                    for c in state.choices
                ],
                extra="Then",
            )
        if state.ask:
            kept = f"kept as *{_name(state.ask.into)}*" if state.ask.into else "not kept"
            self.add(
                f"Waits for an answer: **{_accepts(state)}**, {kept}, then "
                f"{self.to(state.goto)}."
            )
        retry = (state.ask.retry if state.ask else None) or state.retry
        if retry and (state.ask or state.choices):
            self.add("", "If the answer does not fit, it says:")
            self.texts([retry])
        elif state.ask:
            self.add("", "If the answer does not fit: the standard re-prompt.", "")
        if state.kind == "goto" and state.goto:
            self.add(f"Then {self.to(state.goto)}.", "")
        if state.branch:
            self.add("Decides:", "")
            for arm in state.branch:
                when = f"if {condition_words(arm.condition)}" if arm.condition else "otherwise"
                self.add(f"- {when} {self.to(arm.goto)}")
            self.add("")
        if state.kind == "call":
            self.add(f"Runs {self.module_title(state.call)}, then {self.to(state.return_to)}.", "")
        if state.kind == "end":
            nxt = f", and {self.module_title(state.end_next)} starts" if state.end_next else ""
            self.add(f"The module ends here{nxt}.", "")
        if state.timeout:
            self.add(f"If there is no answer for a while: {self.to(state.timeout)}.", "")
        if state.intents:
            self.intents(state.intents, "here")
            self.add("")

    def module(self) -> str:
        d = self.d
        others = [t for t in (d.title.get(lang) for lang in self.langs[1:]) if t]
        self.add(f"# {d.title.get('en')}", "")
        if others and others != [d.title.get("en")]:
            self.add(" · ".join(f"*{t}*" for t in others), "")
        if d.description:
            self.texts([d.description])
        self.add(
            f"- Module id: `{d.id}` · languages: {', '.join(map(_lang, self.langs))}"
            f" · {len(d.states)} steps, starting at Step 1"
        )
        if d.keep:
            self.add(f"- Remembered after the module ends: {', '.join(map(_name, d.keep))}")
        if d.safety_gate:
            self.add("- Safety gate: after someone has disclosed harm, the safety gate "
                     "(_global.yaml) asks first whether raising this would be safe.")
        if d.intents:
            self.add("- Help and commands for this whole module:")
            self.intents(d.intents, "in this module", indent="  ")
        self.add(
            "- Words in {braces} are filled in with the person's own answers; typing a "
            "button's words or its number works like pressing it.",
            "",
        )
        for name in self.number:
            self.state(name)
        text = "\n".join(self.lines)
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        return text.strip() + "\n"


def module_markdown(d: Dialogue, modules: Modules, *, source: str = "") -> str:
    """The Markdown read-through of one module (`modules`: to name called modules)."""
    note = f"<!-- Generated by `relbot export-text`; edit {source or d.id + '.yaml'}. -->\n\n"
    return note + _Writer(d, modules).module()


def index_markdown(modules: Modules) -> str:
    lines = [
        "<!-- Generated by `relbot export-text --all`. -->",
        "",
        "# Modules",
        "",
        "| Module | What it is | Languages | Steps |",
        "|---|---|---|---|",
    ]
    for module_id, d in sorted(modules.items()):
        about = _cell(d.description.get("en")) if d.description else "—"
        lines.append(
            f"| [{_cell(d.title.get('en'))}]({module_id}.md) (`{module_id}`) | {about}"
            f" | {', '.join(map(_lang, d.languages))} | {len(d.states)} |"
        )
    return "\n".join(lines) + "\n"


def export_all(modules: Modules) -> dict[str, str]:
    """File name -> Markdown, for every module plus `index.md`."""
    files = {f"{i}.md": module_markdown(d, modules, source=_source(d)) for i, d in modules.items()}
    files["index.md"] = index_markdown(modules)
    return files


def _source(d: Dialogue) -> str:
    """The module's file, relative to the repository (the same from any directory)."""
    path = Path(d.file).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


# --- command ---------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.all == bool(args.module):
        print("relbot export-text: give a MODULE, or --all --out FOLDER", file=sys.stderr)
        return 2
    modules = {i: c.model for i, c in compiled_or_exit(args.dir or default_dir()).dialogues.items()}
    if args.module:
        if args.module not in modules:
            print(
                f"relbot: no module '{args.module}'; modules: {', '.join(sorted(modules))}",
                file=sys.stderr,
            )
            return 2
        print(
            module_markdown(modules[args.module], modules, source=_source(modules[args.module])),
            end="",
        )
        return 0
    if args.out is None:
        print("relbot export-text: --all needs --out FOLDER", file=sys.stderr)
        return 2
    files = export_all(modules)
    if args.check:
        return _check(args.out, files)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {args.out}")
    return 0


def _check(out: Path, files: Mapping[str, str]) -> int:
    stale = [
        out / name
        for name, text in files.items()
        if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
    ]
    extra = sorted(p for p in out.glob("*.md") if p.name not in files) if out.is_dir() else []
    for path in stale:
        print(f"stale: {path}")
    for path in extra:
        print(f"stale: {path} (no such module any more)")
    if stale or extra:
        print(f"relbot export-text: regenerate with `relbot export-text --all --out {out}`")
        return 1
    print(f"{out}: {len(files)} files up to date")
    return 0
