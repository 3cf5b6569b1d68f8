"""The safety route through the one Telegram-free turn, on the shipped dialogues.

What a person in danger would notice: a disclosure interrupts the exercise with one calm
question for that kind of harm, then the numbers that fit their country, at most three
messages at a time, ways out that never need "I'm safe", and the interrupted question
again on the way back. After a disclosure of harm, exercises about saying something to
the other person ask first whether that would be safe.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.core.compile import CompiledBundle
from bot.core.crisis import CATEGORIES
from bot.core.types import (
    Button,
    Event,
    IntentInvoked,
    Message,
    Pressed,
    Session,
    Started,
    Typed,
)
from bot.safety import Screen
from bot.turn import Turn, take_turn

from .helpers import EXAMPLES, SHIPPED, compile_folder

DISCLOSURES = {  # unambiguous for today's screen, in each language
    "suicide_self_harm": ("I want to kill myself", "Ya no quiero vivir"),
    "domestic_violence": ("My husband hits me", "Mi pareja me pega"),
    "child_abuse": ("I'm 14 and my dad hits me", "Mi pareja pega a mi hija"),
    "sexual_violence": ("He raped me", "Me violó"),
    "harm_to_others": ("I am going to kill him", "Voy a matar a mi vecino"),
    "someone_else": ("My friend wants to kill himself", "Mi amiga quiere suicidarse"),
}
LABELS = ("abuser", "abusive", "victim", "narcissist", "codependent", "disorder", "toxic",
          "maltratador", "víctima", "narcisista", "codependiente", "trastorno", "tóxic")


@pytest.fixture(scope="module")
def shipped() -> CompiledBundle:
    return compile_folder(SHIPPED)


@pytest.fixture(scope="module")
def screen() -> Screen:
    return Screen.load()


class Person:
    """One person talking to the shipped programme through `take_turn`."""

    def __init__(self, compiled: CompiledBundle, screen: Screen, lang: str = "en",
                 **variables: object) -> None:
        self.compiled, self.screen = compiled, screen
        self.session = Session(vars={"language": lang, "adult": True, **variables})
        self.turn = Turn(self.session, ())

    def send(self, event: Event) -> Turn:
        self.turn = take_turn(self.compiled, self.screen, self.session, event)
        self.session = self.turn.session
        return self.turn

    def press(self, label: str) -> Turn:
        buttons = self.buttons()
        ids = [b.id for b in buttons if label in (b.label, b.id)]
        assert ids, f"no button {label!r} in {[b.label for b in buttons]}"
        return self.send(Pressed(self.session.step, ids[0]))

    def buttons(self) -> list[Button]:
        shown = [o for o in self.turn.outputs if isinstance(o, Message) and o.buttons]
        return list(shown[-1].buttons) if shown else []

    @property
    def texts(self) -> list[str]:
        return [o.text for o in self.turn.outputs if isinstance(o, Message)]

    @property
    def where(self) -> list[tuple[str, str]]:
        return [(f.module, f.state) for f in self.session.stack]


def at_mood(person: Person) -> Person:
    person.send(Started("daily_checkin"))
    assert person.where == [("daily_checkin", "mood")]
    return person


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_a_disclosure_interrupts_with_one_calm_question_of_its_own(
    shipped: CompiledBundle, screen: Screen, category: str, lang: str
) -> None:
    person = at_mood(Person(shipped, screen, lang))
    turn = person.send(Typed(DISCLOSURES[category][lang == "es"]))
    assert turn.flag is not None and turn.flag.category == category
    assert turn.urgent
    (question,) = turn.outputs  # one message: the question, with its buttons
    assert isinstance(question, Message) and len(question.buttons) == 3
    assert question.text.endswith("?")
    assert person.where == [("daily_checkin", "mood"), (shipped.routes[category], "ask")]
    assert person.session.stack[-1].return_to == "mood"


def test_each_category_has_its_own_words(shipped: CompiledBundle, screen: Screen) -> None:
    questions = set()
    for category in CATEGORIES:
        person = at_mood(Person(shipped, screen))
        person.send(Typed(DISCLOSURES[category][0]))
        questions.add(person.texts[0])
    assert len(questions) == len(CATEGORIES)


def _walk(shipped: CompiledBundle, screen: Screen, module: str, lang: str
          ) -> Iterator[tuple[list[str], Turn]]:
    """Every path of up to four presses through a route, started mid-check-in."""
    todo: list[list[str]] = [[]]
    while todo:
        path = todo.pop()
        person = at_mood(Person(shipped, screen, lang))
        person.send(Typed(DISCLOSURES[next(c for c, m in shipped.routes.items()
                                           if m == module)][lang == "es"]))
        for label in path:
            person.press(label)
        yield path, person.turn
        if len(path) < 4 and person.session.stack and person.session.stack[-1].module in (
                module, "safety_country", "safety_ground"):
            todo += [[*path, b.id] for b in person.buttons()]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_turn_on_a_route_is_at_most_three_messages_and_labels_no_one(
    shipped: CompiledBundle, screen: Screen, category: str, lang: str
) -> None:
    seen = 0
    for path, turn in _walk(shipped, screen, shipped.routes[category], lang):
        messages = [o for o in turn.outputs if isinstance(o, Message)]
        assert 1 <= len(messages) <= 3, (path, [m.text for m in messages])
        for message in messages:
            words = message.text.casefold()
            assert not [label for label in LABELS if label in words and "línea" not in words]
        seen += 1
    assert seen > 20  # the walk really went through the route


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_route_shows_the_emergency_number_and_says_it_cannot_send_help(
    shipped: CompiledBundle, screen: Screen, category: str
) -> None:
    person = at_mood(Person(shipped, screen, country="US"))
    person.send(Typed(DISCLOSURES[category][0]))
    person.press(person.buttons()[0].id)
    joined = "\n".join(person.texts)
    assert "This bot is not a crisis service and can't send help" in joined
    assert "Emergency: call 911." in joined
    labels = [b.label for b in person.buttons()]
    assert {"Show the numbers again", "Go back to what I was doing",
            "Stop this exercise"} <= set(labels)
    assert not any("safe" in label.casefold() for label in labels)  # no "I'm safe" to leave


def test_going_back_asks_only_the_interrupted_question(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = at_mood(Person(shipped, screen))
    person.send(Typed("I want to kill myself"))
    person.press("not_safe")
    person.press("back")
    assert person.texts == ["Okay. Type sos whenever you want these numbers again.",
                            "From 0 to 10, how is your mood today? 0 is very low, 10 is "
                            "very good."]
    assert person.where == [("daily_checkin", "mood")]
    assert not person.turn.urgent


def test_a_typed_answer_to_the_routes_question_is_an_answer_not_a_new_disclosure(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = at_mood(Person(shipped, screen))
    person.send(Typed("My husband hits me"))
    turn = person.send(Typed("no, he hits me every night"))  # flagged again, same route
    assert turn.flag is not None and turn.flag.category == "domestic_violence"
    assert person.texts[0].startswith("Your safety comes first")
    assert person.where[-1] == ("safety_home", "next")
    assert "he hits me" not in person.session.to_json()  # the words are not kept


def test_another_disclosure_or_sos_on_a_route_replaces_it_instead_of_stacking(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = at_mood(Person(shipped, screen))
    person.send(Typed("My husband hits me"))
    person.press("not_safe")
    person.send(Typed("and now my friend wants to kill himself"))
    assert person.where == [("daily_checkin", "mood"), ("safety_someone", "ask")]
    person.send(IntentInvoked("sos"))
    assert person.where == [("daily_checkin", "mood"), ("safety", "next")]
    person.press("back")
    assert person.where == [("daily_checkin", "mood")]


@pytest.mark.parametrize(("event", "urgent"), [
    (IntentInvoked("sos"), True), (Typed("sos"), True), (Typed("5"), False),
    (IntentInvoked("help"), False)])
def test_a_turn_that_opens_a_safety_module_is_urgent(
    shipped: CompiledBundle, screen: Screen, event: Event, urgent: bool
) -> None:
    person = at_mood(Person(shipped, screen))
    assert person.send(event).urgent is urgent


def test_the_menus_safety_entry_is_urgent_too(shipped: CompiledBundle, screen: Screen) -> None:
    person = Person(shipped, screen)
    person.send(Started("menu"))
    turn = person.press("safety")
    assert turn.urgent and person.where[-1] == ("safety", "next")


def test_every_turn_on_a_route_is_urgent_until_the_person_leaves_it(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = at_mood(Person(shipped, screen))
    person.send(Typed("My husband hits me"))
    assert person.press("not_safe").urgent  # its numbers are never superseded
    assert person.press("country").urgent
    assert person.press("es").urgent
    assert not person.press("back").urgent


@pytest.mark.parametrize(("country", "lang", "lines"), [
    (None, "en", ["In an emergency, call your local emergency number: 112 in Spain, the EU "
                  "and many other countries; 911 in the US, Canada and Mexico; 999 in the UK; "
                  "000 in Australia.",
                  "To talk to someone, findahelpline.com lists free, confidential helplines "
                  "by country."]),
    ("ES", "es", ["Dónde pedir ayuda en España:", "Emergencias: llama al 112.",
                  "Línea 016 (violencia contra las mujeres): llama al 016."]),
    ("CA", "en", ["Where to get help in Canada:", "Emergency: call 911.",
                  "More helplines: findahelpline.com"]),
    ("ZZ", "en", ["In an emergency, call your local emergency number: 112 in Spain, the EU "
                  "and many other countries; 911 in the US, Canada and Mexico; 999 in the UK; "
                  "000 in Australia.",
                  "To talk to someone, findahelpline.com lists free, confidential helplines "
                  "by country."]),
])
def test_the_numbers_follow_the_country_and_the_language(
    shipped: CompiledBundle, country: str | None, lang: str, lines: list[str]
) -> None:
    assert shipped.resources is not None
    assert shipped.resources.render(("domestic_violence",), country, lang).split("\n") == lines


def test_every_country_in_resources_can_be_picked(shipped: CompiledBundle) -> None:
    assert shipped.resources is not None
    picker = shipped.dialogues["safety_country"].model.states["pick"]
    picked = {c.set.get("country") for c in picker.choices}
    assert set(shipped.resources.countries) <= picked


def test_after_harm_at_home_the_confrontation_exercises_ask_first(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = at_mood(Person(shipped, screen))
    person.send(Typed("My husband hits me"))
    person.press("safe")
    person.press("stop")
    for module in ("dear_man", "i_statement", "rehearsal"):
        person.send(Started(module))
        assert person.texts[-1] == "Would it be safe to raise this with them?", module
        assert person.where == [(module, "_gate_ask"), ("safety_gate", "ask")]
    person.press("not_safe")
    assert "Then let's not practise saying it to them" in person.texts[0]
    for label in ("someone", "somewhere", "dont"):
        person.press(label)
    assert person.where == [("menu", "main")]  # a plan, then the menu: never the rehearsal


def test_going_back_into_an_exercise_after_a_disclosure_asks_first(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = Person(shipped, screen)
    person.send(Started("dear_man"))
    question = person.where[-1]
    person.send(Typed("My partner hit me last night"))
    person.press("safe")
    person.press("back")
    assert person.texts[-1] == "Would it be safe to raise this with them?"
    person.press("safe")
    assert person.where == [question]
    assert person.texts[-1].endswith("who is the conversation with?")


def test_without_a_disclosure_the_exercises_start_as_before(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = Person(shipped, screen)
    person.send(Started("rehearsal"))
    assert person.texts[0].startswith("Let's rehearse.")


@pytest.mark.parametrize(("lang", "long", "short"), [
    ("en", "Thank you for writing that. At this step I can only go on with the buttons",
     "Please tap one of the buttons"),
    ("es", "Gracias por escribirlo. En este paso solo puedo seguir con los botones",
     "Toca uno de los botones"),
])
def test_long_free_text_at_buttons_is_acknowledged_before_pointing_to_them(
    shipped: CompiledBundle, screen: Screen, lang: str, long: str, short: str
) -> None:
    person = Person(shipped, screen, lang)
    person.send(Started("trust"))
    person.send(Typed("Honestly it depends so much on who it is and what day I am having"))
    assert person.texts[0].startswith(long) and len(person.texts) == 2
    assert person.buttons()
    person.send(Typed("hmm"))
    assert person.texts[0].startswith(short)


def test_a_folder_without_routes_opens_the_sos_intent_on_a_disclosure(screen: Screen) -> None:
    examples = compile_folder(EXAMPLES)
    person = Person(examples, screen)
    person.send(Started("tour"))
    turn = person.send(Typed("I want to kill myself"))
    assert turn.urgent and person.where[-1] == ("pause", "breathe")


def test_stopping_from_a_route_leaves_the_exercise_and_its_answers_behind(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = Person(shipped, screen, store_answers=False)
    person.send(Started("dear_man"))
    person.press("partner")
    person.send(Typed("Our plans were cancelled three times this month."))
    assert person.session.vars["dm_describe"]
    person.send(Typed("My partner hit me last night"))
    person.press("not_safe")
    person.press("stop")
    assert person.where == [("menu", "main")]
    assert not [k for k in person.session.vars if k.startswith("dm_")]  # no consent: gone
    assert person.session.vars["ask_before_raising"] is True  # the gate stays on


def test_the_country_is_remembered_even_without_consent_to_store_answers(
    shipped: CompiledBundle, screen: Screen
) -> None:
    person = Person(shipped, screen, store_answers=False)
    person.send(IntentInvoked("sos"))
    person.press("country")
    person.press("es")
    person.send(IntentInvoked("cancel"))
    assert person.where == [("menu", "main")] and person.session.vars["country"] == "ES"
    person.send(IntentInvoked("sos"))
    assert "Where to get help in Spain:" in person.texts[0]
