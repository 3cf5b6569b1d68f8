"""The scripts a person keeps read as sentences, whatever way the parts were typed.

A property test over real-looking phrasings in both languages (echoed lead-ins, full
stops, question marks, capitals, quotes, a stray menu digit) run through the shipped
DEAR MAN and I-statement script texts, as the engine renders them. Then examples a
person would check by eye, and the validator codes for script texts (D070, D071).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.assemble import assemble, parse_spec
from bot.core.compile import CompiledBundle, CompiledText

from .helpers import SHIPPED, compile_folder, diagnose

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)


@functools.cache
def _shipped() -> CompiledBundle:
    return compile_folder(SHIPPED)


def _script(module: str, state: str) -> CompiledText:
    """The shipped text of `state` that holds the script parts (`{name:part}`)."""
    dialogue = _shipped().dialogues[module]
    texts = dialogue.model.states[state].say
    index = next(i for i, t in enumerate(texts) if re.search(r"\{\w+:\w+", t.variants["en"]))
    return dialogue.states[state].say[index]


OBSERVATION = {
    "en": ["you cancelled our plans on Friday", "When you cancelled our plans on Friday.",
           "when you came home at 1am without texting", "You didn't text me back for two days",
           "Last Friday you came home at 1am without texting", "“you looked at your phone”",
           "Sam told my sister what I said in private", "you raised your voice at dinner!",
           "WHEN you left the dishes again", "  my mum calls every night at 11  "],
    "es": ["cancelaste nuestros planes el viernes", "Cuando cancelaste nuestros planes el viernes.",
           "cuando llegaste a la 1 sin avisar", "No me contestaste en dos días",
           "El viernes llegaste a la una sin avisar", "«miraste el móvil mientras te hablaba»",
           "Laura le contó a mi hermana lo que te dije", "me levantaste la voz en la cena!",
           "CUANDO dejaste los platos otra vez", "  mi madre me llama cada noche a las 11  "],
}
FEELING = {
    "en": ["let down", "I feel let down", "I feel hurt.", "I'm scared", "sad and alone",
           "Feeling ignored", "i feel really anxious", "Frustrated!", "worn out", "I felt small"],
    "es": ["triste", "me siento triste", "Me siento sola.", "siento miedo", "miedo",
           "un poco de rabia", "decepcionada", "tengo miedo", "Frustración", "muy cansado",
           "siento triste", "me siento dolor"],
}
NEED = {
    "en": ["reliability", "because I need reliability", "I need to be heard.",
           "Because I need some calm", "to be able to count on you", "respect", "some space!",
           "need honesty"],
    "es": ["poder contar contigo", "porque necesito tranquilidad", "necesito necesito respeto",
           "Necesito que me escuches.", "Porque necesito algo de espacio", "respeto",
           "sinceridad!", "un reparto justo"],
}
REQUEST = {
    "en": ["tell me a day ahead", "Would you be willing to tell me a day ahead??",
           "text me if you'll be late.", "Could you text me if you'll be late?",
           "to put your phone away while we eat", "please ask before inviting people over",
           "I'd like you to call first", "6"],
    "es": ["avisarme un día antes", "¿Te parecería bien avisarme un día antes?",
           "¿Podrías avisarme si vas a llegar tarde?", "que me avises antes",
           "Me gustaría que me avisaras antes de invitar a gente", "por favor, llamarme antes",
           "avisarme con un mensaje.", "6"],
}
SENTENCE = {
    "en": ["Last Friday you came home at 1am without texting",
           "I'm asking you to text me if you'll be late.", "That way I can plan my evening",
           "please tell me by the evening before", "I'll go ahead without you if plans change!",
           ""],
    "es": ["El viernes llegaste a la una sin avisar", "te pido que me avises si llegas tarde.",
           "Así puedo organizarme", "Si los planes cambian ese día, iré sin ti!", ""],
}
EXPRESS = {
    "en": ["I feel scared and alone when that happens", "scared and alone", "It hurts.",
           "I'm worried when that happens"],
    "es": ["Me siento sola cuando pasa eso", "me duele y me desanimo", "miedo y soledad",
           "triste", "tengo miedo cuando pasa"],
}
LEADS = {
    "en": ["when", "i feel", "because i need", "would you be willing to"],
    "es": ["cuando", "siento", "porque necesito", "te pareceria bien", "necesito"],
}
# Spanish adjectives that need "me siento", never bare "siento".
ADJECTIVES_ES = ("triste", "sola", "decepcionada", "cansado")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c if c.isalnum() else " " for c in decomposed
                            if not unicodedata.combining(c)).split())


def _reads_well(lang: str, text: str) -> None:
    """What a person reading the script would notice, checked."""
    assert text, "an empty script"
    assert text == text.strip() and "  " not in text, text
    assert text[0].isupper() or text[:2] in ("¿T", "¿P") or text[0] == "¿", text
    assert text[-1] in ".?!", text
    assert not re.search(r"[,.;:!?]{2}|\s[,.;:!?]|,\s*[.?!]", text), f"punctuation: {text}"
    assert not re.search(r"[.?!]\s+[a-záéíóúñ]", text), f"a sentence starts lower case: {text}"
    assert "“" not in text and "«" not in text and '"' not in text, text
    folded = _fold(text)
    for lead in LEADS[lang]:
        assert f"{lead} {lead}" not in folded, f"doubled '{lead}': {text}"
    for word in ("when", "cuando"):
        assert f"{word} {word}" not in folded, text
    assert not re.search(r"(?:to|bien|a)\s+\d+\s*\?", text), f"a menu digit as words: {text}"
    if lang == "es":
        for adjective in ADJECTIVES_ES:
            assert not re.search(rf"(?<!me )siento {adjective}\b", text, re.I), text
        for sentence in re.findall(r"[^.?!]*\?", text):
            assert "¿" in sentence, f"a question without ¿: {text}"
        assert "siento dolor" not in text or "me siento dolor" not in text


@pytest.mark.parametrize("lang", ["en", "es"])
@PROPERTY
@given(data=st.data())
def test_i_statement_reads_as_sentences(lang: str, data: st.DataObject) -> None:
    values = {
        "is_observation": data.draw(st.sampled_from(OBSERVATION[lang])),
        "is_feeling_words": data.draw(st.sampled_from(FEELING[lang])),
        "is_need_words": data.draw(st.sampled_from(NEED[lang])),
        "is_request": data.draw(st.sampled_from(REQUEST[lang])),
    }
    text = _script("i_statement", "statement").render(lang, values)
    _reads_well(lang, text)
    assert text.count("?") <= 1 and text.count(".") <= 3, text
    folded = _fold(text)
    for name in ("is_observation", "is_feeling_words", "is_need_words"):  # nothing lost
        last_word = _fold(values[name]).split()[-1]
        assert last_word in folded, f"{name}: {text}"


@pytest.mark.parametrize("lang", ["en", "es"])
@PROPERTY
@given(data=st.data())
def test_dear_man_reads_as_sentences(lang: str, data: st.DataObject) -> None:
    values = {
        "dm_describe": data.draw(st.sampled_from(SENTENCE[lang][:-1] + OBSERVATION[lang])),
        "dm_express": data.draw(st.sampled_from(EXPRESS[lang] + FEELING[lang])),
        "dm_assert": data.draw(st.sampled_from(SENTENCE[lang][:-1])),
        "dm_reinforce": data.draw(st.sampled_from(SENTENCE[lang])),
    }
    for module, state in (("dear_man", "script"), ("rehearsal", "open_dm")):
        text = _script(module, state).render(lang, values)
        _reads_well(lang, text)
        for name, value in values.items():
            if _fold(value):
                assert _fold(value).split()[-1] in _fold(text), f"{name}: {text}"


@pytest.mark.parametrize(("lang", "parts", "expected"), [
    ("en", [("when", ",", "When When you cancelled our plans."),
            ("feel", ",", "I feel I feel let down"),
            ("need", ".", "because I need because I need reliability"),
            ("ask", "?", "Would you be willing to Would you be willing to tell me a day ahead??")],
     "When you cancelled our plans, I feel let down, because I need reliability. "
     "Would you be willing to tell me a day ahead?"),
    ("es", [("when", ",", "cancelaste los planes"), ("feel", ",", "triste"),
            ("need", ".", "necesito necesito respeto"), ("ask", "?", "avisarme antes")],
     "Cuando cancelaste los planes, me siento triste, porque necesito respeto. "
     "¿Te parecería bien avisarme antes?"),
    ("es", [("when", ",", "cancelaste los planes"), ("feel", ",", "miedo"),
            ("need", ".", "respeto"), ("ask", "?", "que me avises antes")],
     "Cuando cancelaste los planes, siento miedo, porque necesito respeto. "
     "¿Te parece bien que me avises antes?"),
    ("es", [("when", ",", "no me avisaste"), ("feel", ",", "me siento sola"),
            ("need", ".", "poder contar contigo"), ("ask", "?", "me gustaría que me avisaras")],
     "Cuando no me avisaste, me siento sola, porque necesito poder contar contigo. "
     "¿Te parecería bien que me avisaras?"),
    ("en", [("sentence", ".", "Last Friday you came home at 1am without texting"),
            ("feel", ".", "I feel scared and alone when that happens"),
            ("sentence", ".", "I'm asking you to text me next time")],
     "Last Friday you came home at 1am without texting. I feel scared and alone when that "
     "happens. I'm asking you to text me next time."),
    ("en", [("when", ",", "Sam cancelled"), ("feel", ",", "hurt"), ("need", ".", "respect"),
            ("ask", "?", "6")],
     "When Sam cancelled, I feel hurt, because I need respect."),
])
def test_examples_a_person_would_check(lang: str, parts: list[tuple[str, str, str]],
                                       expected: str) -> None:
    assert assemble(lang, parts) == expected


def test_parts_name_a_role_and_an_optional_end() -> None:
    assert parse_spec("feel.") == ("feel", ".")
    assert parse_spec("when") == ("when", ",")
    assert parse_spec("story") is None


def test_an_unknown_part_and_mixed_words_are_reported(tmp_path: Path) -> None:
    def codes(text: str) -> list[str]:
        return [d.code for d in diagnose(tmp_path, {"m.yaml": _MODULE.replace("TEXT", text)})]

    assert codes("{x:story}") == ["D070"]
    assert codes("When {x:when} then") == ["D071"]
    assert codes("{x:when} {x}") == ["D071"]
    assert codes("{x:when} {x:feel.}") == []


_MODULE = """dialogue: m
title: M
start: a
variables: {x: ""}
states:
  a:
    say: Say it.
    ask: {into: x, kind: text}
    goto: b
  b:
    say: ["You said {x}.", "TEXT"]
    end: true
"""
