"""Joining the parts a person typed into a script they could say out loud.

A module asks for a script one part at a time ("What happened?", "How does it leave you
feeling?") and shows the parts joined. People answer in full sentences, with the words
the prompt suggested ("When you cancelled...", "I feel let down"), with or without a
full stop. Pasting those answers into a template gives "When When you cancelled...,
I feel I feel let down". This module is the one place that joins them well.

An author marks a script text with part placeholders, `{name:role}` (optionally with
the mark that ends the part: `{dm_express:feel.}`). For each part, `assemble`:

- strips a lead-in the person echoed ("when", "I feel", "because I need", "would you be
  willing to"; "cuando", "me siento", "porque necesito", "podrías"...) and writes the
  role's own lead-in once, or keeps the person's form where it reads better ("Could you
  text me?", "tengo miedo", "me siento triste");
- in Spanish, agrees the feeling with what was typed: an adjective takes "me siento"
  ("me siento triste"), a noun takes "siento" ("siento miedo");
- ends the part with exactly one mark, and capitalises once, at the start of each
  sentence;
- leaves out an empty part, and a part that is only a number (a habit from numbered
  menus), rather than showing "Would you be willing to 6?".

Pure: text in, text out, no I/O. The property test in tests/core/test_assemble.py runs
many real-looking phrasings in both languages through the DEAR MAN and I-statement
scripts.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ENDS", "ROLES", "assemble", "parse_spec"]

#: What a part says, and the mark that ends it unless the placeholder names another.
ROLES: dict[str, str] = {
    "sentence": ".",  # a sentence of its own: no lead-in
    "when": ",",  # what happened: "When ...,"
    "feel": ",",  # the feeling: "I feel ...,"
    "need": ".",  # the need: "because I need ..."
    "ask": "?",  # the request: "Would you be willing to ...?"
}
ENDS = ",.?!"


@dataclass(frozen=True, slots=True)
class _Lead:
    typed: str  # a lead-in as a person types it (lower case, no accents)
    write: str | None  # the lead-in to write instead; None: the role's default


def _leads(pairs: Sequence[tuple[str, str | None]]) -> tuple[_Lead, ...]:
    found = [_Lead(t, w) for t, w in pairs]
    return tuple(sorted(found, key=lambda lead: -len(lead.typed)))


# Per language and role: the default lead-in, and the lead-ins a person may type. A
# typed one with `None` is replaced by the default; one with words is kept in that form.
_DEFAULT: dict[str, dict[str, str]] = {
    "en": {"sentence": "", "when": "when", "feel": "I feel", "need": "because I need",
           "ask": "would you be willing to"},
    "es": {"sentence": "", "when": "cuando", "feel": "siento", "need": "porque necesito",
           "ask": "¿te parecería bien"},
}
_TYPED: dict[str, dict[str, tuple[_Lead, ...]]] = {
    "en": {
        "sentence": (),
        "when": _leads([("when", None), ("whenever", "whenever"), ("so when", None),
                        ("it was when", None)]),
        "feel": _leads([("i feel", None), ("i felt", None), ("i m feeling", None),
                        ("im feeling", None), ("i am feeling", None), ("i was feeling", None),
                        ("feeling", None), ("feel", None), ("i feel really", "I feel really"),
                        ("i m", "I'm"), ("im", "I'm"), ("i am", "I am"), ("i get", "I get")]),
        "need": _leads([("because i need", None), ("because i needed", None),
                        ("cause i need", None), ("i need", None), ("i needed", None),
                        ("because", None), ("need", None), ("because what i need is", None),
                        ("what i need is", None), ("i really need", "because I really need")]),
        "ask": _leads([("would you be willing to", None), ("would you be willing", None),
                       ("are you willing to", None), ("i d like you to", None),
                       ("i would like you to", None), ("i want you to", None),
                       ("i m asking you to", None), ("i am asking you to", None),
                       ("please", None), ("to", None), ("could you please", "could you please"),
                       ("could you", "could you"), ("can you please", "can you please"),
                       ("can you", "can you"), ("would you please", "would you please"),
                       ("will you", "will you"), ("would you mind", "would you mind")]),
    },
    "es": {
        "sentence": (),
        "when": _leads([("cuando", None), ("pues cuando", None), ("fue cuando", None)]),
        "feel": _leads([("siento", None), ("me siento", None),
                        ("me senti", None), ("me sentia", None),
                        ("yo me siento", None), ("yo siento", None),
                        ("estoy", "estoy"), ("me quedo", "me quedo"), ("tengo", "tengo"),
                        ("me da", "me da"), ("me pongo", "me pongo"),
                        ("siento que", "siento que"), ("senti", None)]),
        "need": _leads([("porque necesito", None), ("necesito", None), ("porque", None),
                        ("necesitaria", None), ("porque necesitaria", None),
                        ("lo que necesito es", None), ("me hace falta", "porque me hace falta"),
                        ("porque me hace falta", "porque me hace falta")]),
        "ask": _leads([("te pareceria bien", None), ("por favor", None),
                       ("estarias dispuesto a", None), ("estarias dispuesta a", None),
                       ("podrias", "¿podrías"), ("puedes", "¿puedes"),
                       ("me gustaria que", "¿te parece bien que"),
                       ("quiero que", "¿te parece bien que"),
                       ("te pido que", "¿te parece bien que"),
                       ("necesito que", "¿te parece bien que"),
                       ("que", "¿te parece bien que")]),
    },
}

# Spanish feelings: a noun takes "siento" (siento miedo), an adjective "me siento"
# (me siento triste). Words of quantity in front are looked past ("un poco de miedo").
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ES_NOUNS = _words(
    "miedo rabia pena culpa verguenza asco celos dolor agobio cansancio enfado ira angustia "
    "panico terror odio envidia nervios ansiedad tristeza soledad frustracion decepcion "
    "preocupacion inquietud alegria alivio impotencia rencor furia desesperacion "
    "inseguridad indignacion desilusion confusion resentimiento agotamiento")
_ES_NOUN_ENDINGS = ("cion", "sion", "dad", "eza", "ura", "ud", "miento", "ancia", "encia",
                    "ismo")
_ES_QUANTITY = _words("un una poco algo mucho mucha muchisimo muchisima tanto tanta "
                         "bastante demasiado demasiada cierto cierta de como tan muy super "
                         "realmente")
# A feeling or need typed as a clause of its own ("It hurts", "Me duele") takes no
# "I feel" in front; a need gets only "because".
_OWN_CLAUSE: dict[str, frozenset[str]] = {
    "en": _words("it that this i my when being"),
    "es": _words("me te se yo mi no cuando eso esto lo la estar"),
}
_NUMBER_ONLY = re.compile(r"^[\s\d.,:;!?¿¡()#-]*\d[\s\d.,:;!?¿¡()#-]*$")
_EDGE = " \t\n\"'“”‘’«»`"
_TRAIL = _EDGE + ".,;:!?¿¡…"


def parse_spec(spec: str) -> tuple[str, str] | None:
    """`feel.` -> ("feel", "."); `when` -> ("when", ","); None if no such role."""
    end = spec[-1] if spec and spec[-1] in ENDS else ""
    role = spec[:-1] if end else spec
    if role not in ROLES:
        return None
    return role, end or ROLES[role]


_NOT_WORD = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    """Lower case, no accents, apostrophes and punctuation as spaces: for matching
    lead-ins and words, which are all Latin letters (other scripts fold to nothing)."""
    plain = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore")
    return _NOT_WORD.sub(" ", plain.decode("ascii")).strip()


def _cut_words(text: str, count: int) -> str:
    """`text` without its first `count` words (words as `_fold` counts them)."""
    rest = text
    for _ in range(count):
        match = re.match(r"[^\w]*\w+(?:['’]\w+)?", rest)
        if match is None:
            return ""
        rest = rest[match.end():]
    return rest.lstrip(" ,;:-–—")


def _strip_lead(lang: str, role: str, text: str) -> tuple[str, str | None]:
    """The text without an echoed lead-in, and the lead-in to write (None: default)."""
    write: str | None = None
    for _ in range(3):  # "Would you be willing to please ..." has two
        folded = _fold(text)
        for lead in _TYPED.get(lang, {}).get(role, ()):
            if folded == lead.typed or folded.startswith(lead.typed + " "):
                words = len(lead.typed.split())
                if lead.typed.startswith("i m") or lead.typed.startswith("i d"):
                    words -= 1  # "I'm" is one word as typed, two once folded
                text = _cut_words(text, words)
                write = lead.write if lead.write is not None else write
                break
        else:
            return text, write
    return text, write


def _es_feeling_lead(text: str) -> str:
    """"siento" before a noun, "me siento" before an adjective (and by default)."""
    for word in _fold(text).split():
        if word in _ES_QUANTITY:
            if word == "de":
                return "siento"  # "un poco de miedo"
            continue
        if word in _ES_NOUNS or word.endswith(_ES_NOUN_ENDINGS):
            return "siento"
        return "me siento"
    return "me siento"


# First words that are lower case in the middle of a sentence; anything else (a name,
# "I") keeps the capital the person typed.
_LOWER_FIRST = _words(
    "you your we our they their he his she her it its the a an this that my me last "
    "yesterday today on at in every after before there when if since tonight "
    "tu tus te me mi mis el la los las un una nuestro nuestra nuestros nuestras ayer "
    "anoche hoy esta este eso esa ese cada no nunca siempre se le les lo llegaste "
    "cancelaste dijiste hiciste "
    "sad hurt scared angry tired lonely worried anxious frustrated upset alone let "
    "triste dolida dolido sola solo miedo rabia pena")


def _soften(text: str) -> str:
    """Lower-case the first letter when the first word is an ordinary one."""
    match = re.match(r"\w+", text)
    rest = match.group()[1:] if match else ""
    if match and _fold(match.group()) in _LOWER_FIRST and (not rest or rest.islower()):
        return text[0].lower() + text[1:]
    return text


_CLITICS = frozenset(("que", "me", "te", "se", "lo", "la", "le", "nos", "les", "los", "las",
                      "no"))
_PAST_SUBJUNCTIVE = ("ara", "aras", "aran", "ase", "ases", "asen", "iera", "ieras", "ieran",
                     "iese", "ieses", "iesen", "ramos", "semos")


def _past_subjunctive(text: str) -> bool:
    """True when the first verb of a Spanish request is in the past subjunctive
    ("que me avisaras"), which takes "¿te parecería bien que ...?"."""
    for word in _fold(text).split():
        if word not in _CLITICS:
            return word.endswith(_PAST_SUBJUNCTIVE)
    return False


def _capitalise(text: str) -> str:
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1:]
    return text


def _part(lang: str, role: str, value: object) -> tuple[str, str] | None:
    """(lead-in, words) for one part, or None when there is nothing to show."""
    text = "" if value is None else str(value)
    text = " ".join(text.split()).strip(_EDGE)
    if not text or _NUMBER_ONLY.match(text):
        return None
    text, write = _strip_lead(lang, role, text)
    text = text.rstrip(_TRAIL).lstrip(_TRAIL)
    if not text or _NUMBER_ONLY.match(text):
        return None
    lead = write if write is not None else _DEFAULT.get(lang, _DEFAULT["en"]).get(role, "")
    first = _fold(text).split()[0] if _fold(text) else ""
    if role in ("feel", "need") and write is None and first in _OWN_CLAUSE.get(lang, ()):
        lead = "" if role == "feel" else {"es": "porque"}.get(lang, "because")
    elif lang == "es" and role == "feel" and write is None:
        lead = _es_feeling_lead(text)
    if lang == "es" and role == "ask" and write is None and _fold(text).startswith("que "):
        lead = "¿te parece bien"  # present with the subjunctive: "que me avises"
    if lang == "es" and lead.startswith("¿te parece bien") and _past_subjunctive(text):
        lead = lead.replace("parece", "parecería")  # "que me avisaras": parecería
    return lead, text


def assemble(lang: str, parts: Sequence[tuple[str, str, object]]) -> str:
    """Join (role, end mark, typed value) parts into sentences; see the module docstring."""
    out: list[str] = []
    starts = True  # the next part begins a sentence
    for role, end, value in parts:
        found = _part(lang, role, value)
        if found is None:
            continue
        lead, words = found
        if lead:
            words = _soften(words) if lead[-1:].isalpha() else words
            piece = f"{lead} {words}"
        else:
            piece = words
        if lang == "es" and end == "?" and "¿" not in piece:
            piece = "¿" + piece
        if lang == "es" and end != "?" and piece.startswith("¿"):
            piece = piece[1:]
        if starts:
            piece = _capitalise(piece)
        elif lead and piece[:1].isupper() and not piece.startswith(("I ", "I'")):
            piece = piece[0].lower() + piece[1:]
        out.append(piece + end)
        starts = end in ".?!"
    if out and out[-1][-1] == ",":
        out[-1] = out[-1][:-1] + "."
    return " ".join(out)
