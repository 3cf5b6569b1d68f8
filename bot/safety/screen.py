"""Crisis screening: free text is checked before the dialogue step ever sees it.

The rules are data that clinicians can read and extend (`bot/safety/rules/`, described
in its README): word lists per language, rules composed from them, and context
modifiers (negation, media distance, hypotheticals, resolved past, idioms). A flag turns
the person's message into the `sos` intent; what happens next is the routes' business.

`Screen.from_texts` is pure (file name -> YAML text); `Screen.load` reads the shipped
folder. Neither raises: a broken rule file is reported in `diagnostics`, its broken
entries are left out, and the screen keeps working with the rest. The person's language
is screened, and English when that language's rules match nothing (people switch).

When several categories match, the one listed first in `common.yaml`'s `precedence`
wins (an attempt or a plan before anything else; child abuse before domestic
violence; someone else's danger last, since a person's own danger comes first).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.crisis import CATEGORIES
from bot.core.diagnostics import Diagnostic, Severity
from bot.core.loader import Loaded
from bot.safety.codes import file_problem, report
from bot.safety.examples import check_examples
from bot.safety.matcher import Finding, LanguageRules, compile_language
from bot.safety.model import MODEL_SUFFIX, Model, load_model
from bot.safety.rulefile import (
    COMMON,
    CommonFile,
    LanguageFile,
    load_common,
    load_language,
    rule_language,
)

__all__ = ["RULES_DIR", "Flag", "Screen"]

RULES_DIR = Path(__file__).parent / "rules"
FALLBACK = "en"  # always screened too
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Flag:
    """What the screen found: a category of `bot.core.crisis.CATEGORIES`, the subtype
    (e.g. `plan`, `strangulation`) and the rule that matched (`en:plan_method`), plus any
    other categories that matched too. Never the text itself, so a Flag can be logged."""

    category: str
    subtype: str = ""
    rule: str = ""
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Screen:
    """Compiled rules per language, the precedence of categories, and the problems found."""

    languages: Mapping[str, LanguageRules] = field(default_factory=dict)
    ranks: tuple[tuple[str, tuple[str, ...]], ...] = tuple((c, ()) for c in CATEGORIES)
    diagnostics: tuple[Diagnostic, ...] = ()
    models: Mapping[str, Model] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path | None = None, *, examples: bool = False) -> Screen:
        """The rules in `folder` (default: the shipped ones). Never raises. Quick: regexes
        are compiled when first needed and the examples are not tried, unless `examples`
        asks for the full check (as `relbot validate` does)."""
        folder = RULES_DIR if folder is None else folder
        texts: dict[str, str] = {}
        unreadable: list[Diagnostic] = []
        try:
            paths = sorted([*folder.glob("*.yaml"), *folder.glob(f"*{MODEL_SUFFIX}")])
        except OSError:
            paths = []
        for path in paths:
            try:
                texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
            except OSError as exc:
                unreadable.append(
                    file_problem(str(path), "S016", f"cannot be read ({exc.strerror})"))
        screen = cls.from_texts(texts, folder=str(folder), examples=examples)
        if unreadable:
            screen = cls(screen.languages, screen.ranks, (*unreadable, *screen.diagnostics),
                         screen.models)
        errors = sum(d.severity is Severity.ERROR for d in screen.diagnostics)
        if errors:
            log.error("crisis screen rules: %d problem(s), broken rules left out; "
                      "run `relbot validate` to see them", errors)
        return screen

    @classmethod
    def from_texts(cls, texts: Mapping[str, str], *, folder: str = "rules",
                   examples: bool = True) -> Screen:
        """Build the screen from rule-file texts (file name -> YAML). Pure; never raises.
        With `examples` (the default), every regex is compiled now and every rule's
        examples are tried, so `diagnostics` holds every problem; without, regexes are
        compiled when first needed."""
        common: CommonFile | None = None
        files: list[LanguageFile] = []
        diagnostics: list[Diagnostic] = []
        models: dict[str, Model] = {}
        for name, text in sorted(texts.items()):
            language = rule_language(name)
            if name.endswith(MODEL_SUFFIX):
                model, problems = load_model(text, name)
                diagnostics += problems
                stem = name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(MODEL_SUFFIX)
                if model is not None and model.language != stem:
                    diagnostics.append(file_problem(
                        name, "S020", f"holds the model for '{model.language}', not '{stem}'"))
                elif model is not None:
                    models[model.language] = model
            elif language is None:
                diagnostics.append(file_problem(name, "S019", "is not a rule file name"))
            elif language == COMMON:
                common = load_common(text, name)
            else:
                files.append(load_language(text, name, language))
        if common is None:
            diagnostics.append(file_problem(f"{folder}/common.yaml", "S016", "is missing"))
            common = CommonFile(Loaded(f"{folder}/common.yaml", None))
        if not any(f.language == FALLBACK for f in files):
            diagnostics.append(file_problem(f"{folder}/{FALLBACK}.yaml", "S016", "is missing"))
        languages = {f.language: compile_language(f, common, eager=examples) for f in files}
        screen = cls(languages, _ranks(common), ())
        _check_precedence(common, languages)
        if examples:
            for f in files:
                check_examples(f.ld, languages[f.language], f.ordinary)
        found = diagnostics + common.ld.diagnostics + [d for f in files for d in f.ld.diagnostics]
        return cls(screen.languages, screen.ranks, tuple(found), models)

    def check(self, text: str, language: str) -> Flag | None:
        """What the text suggests, or None. Screens `language` (English as a fallback)."""
        findings = self.findings(text, language)
        if not findings:
            return self._second_stage(text, language)
        best = min(findings, key=self.rank)
        also = tuple(dict.fromkeys(f.category for f in findings if f.category != best.category))
        return Flag(best.category, best.subtype, best.rule.ref, also)

    def findings(self, text: str, language: str, *, explain: bool = False) -> list[Finding]:
        """Every rule that matched; with `explain`, also the matches a context modifier
        explained away (`suppressed_by`). The person's language is screened first; English
        only when its rules matched nothing at all (people switch languages, but a match the
        person's own rules explained away, "una charla sobre el suicidio", stays explained)."""
        rules = self.languages.get(language)
        found = rules.findings(text, explain=True) if rules is not None else []
        if not found and language != FALLBACK and FALLBACK in self.languages:
            found = self.languages[FALLBACK].findings(text, explain=True)
        return found if explain else [f for f in found if f.suppressed_by is None]

    def rules_only(self) -> Screen:
        """The same screen without its second stage (to measure what the model adds)."""
        return Screen(self.languages, self.ranks, self.diagnostics)

    def _second_stage(self, text: str, language: str) -> Flag | None:
        """The model's judgement where no rule flagged: the person's language only (a
        model knows one language's words), on the text as the rules see it."""
        model, rules = self.models.get(language), self.languages.get(language)
        if model is None or rules is None:
            return None
        judged = model.judge(rules.prepare(text).tokens)
        return None if judged is None else Flag(judged[0], "", f"{language}:model")

    def rank(self, finding: Finding) -> int:
        """A finding's place in the precedence (lower wins)."""
        for i, (category, subtypes) in enumerate(self.ranks):
            if category == finding.category and (not subtypes or finding.subtype in subtypes):
                return i
        return len(self.ranks)


def _ranks(common: CommonFile) -> tuple[tuple[str, tuple[str, ...]], ...]:
    ranks = [(category, subtypes) for category, subtypes, _ in common.precedence]
    listed = {category for category, subtypes in ranks if not subtypes}
    ranks += [(c, ()) for c in CATEGORIES if c not in listed]  # never lose a category
    return tuple(ranks)


def _check_precedence(common: CommonFile, languages: Mapping[str, LanguageRules]) -> None:
    known = {(r.spec.category, r.spec.subtype) for lr in languages.values() for r in lr.rules}
    for category, subtypes, path in common.precedence:
        for i, subtype in enumerate(subtypes):
            if (category, subtype) not in known:
                report(common.ld, "S018", (*path, i),
                       f"no rule flags {category} with subtype '{subtype}'")
