"""Conversations with the real programme, for ``test_programme.py``.

The bot sends about one message per second per chat, so each of these takes ~20 s. They
are plain functions (assertions included) so that ``conftest.programme_flows`` can run
them all at once, in the background, while other test modules run; each test in
``test_programme.py`` then waits for its own and reports its outcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fakegram import FakeTelegram

from .harness import Database, Person, Scenarios, wait_until

MENU = "There's no set order, and you can stop at any point."
MENU_ES = "No hay un orden fijo y puedes parar en cualquier momento."


# ---- the conversations -----------------------------------------------------------------------
def welcome_by_buttons(ana: Person, *, store: bool) -> None:
    """/start through the welcome module by tapping buttons, ending at the menu."""
    ana.command("start")
    (language,) = ana.expect("Hi, I'm relbot. Which language would you like?")
    assert language.button_texts == ["English", "Español"]
    ana.press("English")
    _, intro = ana.expect("I'm an automated bot for practising skills", "I'm not therapy")
    ana.expect_chosen(language.message_id, "English")
    assert intro.button_texts == ["Okay, go on", "What can I practise here?"]
    ana.press("Okay, go on")
    (age,) = ana.expect("Are you 18 or older?")
    ana.expect_chosen(intro.message_id, "Okay, go on")
    ana.press("Yes, I'm 18+")
    *_, consent = ana.expect(
        "Last thing, about what happens to your answers.",
        "If you say yes, I keep what each exercise ends with",
        "If you say no, you can still use everything",
        "So, may I store your answers?",
    )
    ana.expect_chosen(age.message_id, "Yes, I'm 18+")
    assert consent.button_texts == [
        "Yes, store my answers",
        "No, don't store them",
        "What exactly is stored?",
    ]
    if store:
        ana.press("Yes, store my answers")
        _, menu = ana.expect("Thank you. Your answers will be kept.", MENU)
    else:
        ana.press("No, don't store them")
        _, menu = ana.expect("That's fine. Everything still works", MENU)
    assert "Daily check-in" in menu.button_texts
    assert len(menu.button_texts) == 11


def daily_checkin_by_buttons(ana: Person, db: Database, *, store: bool) -> None:
    welcome_by_buttons(ana, store=store)
    ana.press("Daily check-in")
    ana.expect("Quick check-in, under a minute.", "From 0 to 10, how is your mood today?")
    ana.send("11")
    ana.expect("Just one whole number from 0 (very low) to 10 (very good).")
    ana.send("8")
    (boundary,) = ana.expect("Was there a moment today when a boundary mattered?")
    ana.press("Yes, and I held it")
    ana.expect("Well done for holding it.", "Would you like to add a one-line note about today?")
    ana.expect_chosen(boundary.message_id, "Yes, and I held it")
    ana.press("Skip")
    ana.expect("Did you do one thing for yourself today")
    ana.press("Nothing today")
    ana.expect(
        "some days are about getting through",
        "I'm glad there was some good in today.",
        "Saved with today's date." if store else "Not saved, since you chose not to store",
        MENU,
    )
    ana.expect_nothing_more()

    user = db.user(ana.id)
    assert user is not None and user["language"] == "en"
    consent = json.loads(user["consent"])
    assert consent == {"adult": True, "store_answers": store}
    records = db.records(ana.id)
    if store:
        assert records == [
            (
                "daily_checkin",
                {
                    "mood": 8,
                    "boundary_moment": "held",
                    "note": "",
                    "self_care_done": False,
                    "self_care": "",
                },
            )
        ]
    else:
        assert records == []


def daily_checkin_by_typing_in_spanish(bea: Person, db: Database) -> None:
    """Telegram says the person's app is in Spanish; they type every answer: labels in
    capitals or without accents, and button numbers."""
    bea.command("start")
    bea.expect("Hola, soy relbot. ¿En qué idioma prefieres?")
    bea.send("espanol")
    bea.expect("Soy un bot automático para practicar habilidades", "No soy terapia")
    bea.send("DE ACUERDO, SIGUE")
    bea.expect("¿Tienes 18 años o más?")
    bea.send("si, tengo 18 o mas")
    bea.expect(
        "Una última cosa",
        "Si dices que sí",
        "Si dices que no",
        "Entonces, ¿puedo guardar tus respuestas?",
    )
    bea.send("1")  # "Sí, guárdalas"
    bea.expect("Gracias. Tus respuestas se guardarán.", MENU_ES)
    bea.send("registro diario")
    bea.expect("Un registro rápido", "Del 0 al 10, ¿cómo está tu ánimo hoy?")
    bea.send("3")
    bea.expect("¿Hubo hoy algún momento en que un límite importara?")
    bea.send("Si, alguien lo cruzo")
    bea.expect("Eso puede doler.", "¿Quieres añadir una nota de una línea sobre hoy?")
    bea.send("añadir una NOTA")
    bea.expect("Adelante. Con una línea basta.")
    bea.send("Le dije a mi jefe que el viernes no me quedo.")
    bea.expect("¿Hiciste hoy algo por ti, aunque sea pequeño?")
    bea.send("1")
    bea.expect("¿Qué fue? Bastan unas palabras.")
    bea.send("Un paseo al mediodía")
    bea.expect(
        "Bien. Las cosas pequeñas como esa suman.",
        "Gracias por hacer el registro en un día difícil. No es poca cosa. Trátate hoy",
        "Guardado con la fecha de hoy.",
        MENU_ES,
    )
    bea.expect_nothing_more()
    user = db.user(bea.id)
    assert user is not None and user["language"] == "es"
    assert db.records(bea.id) == [
        (
            "daily_checkin",
            {
                "mood": 3,
                "boundary_moment": "crossed",
                "note": "Le dije a mi jefe que el viernes no me quedo.",
                "self_care_done": True,
                "self_care": "Un paseo al mediodía",
            },
        )
    ]


def crisis_mid_module(ana: Person) -> None:
    welcome_by_buttons(ana, store=False)
    ana.press("Daily check-in")
    ana.expect("Quick check-in", "From 0 to 10")
    ana.send("4")
    (question,) = ana.expect("Was there a moment today when a boundary mattered?")
    ana.send("Honestly I want to kill myself")
    (safe,) = ana.expect("It sounds like things might be really hard for you")
    assert safe.button_texts == ["I'm not safe right now", "I'm not sure", "I'm safe for now"]
    ana.press("I'm not sure")
    numbers, what_now = ana.expect(
        "Thank you for telling me. Please reach out to someone who can help right now.",
        "What would you like to do now?",
    )
    assert "This bot is not a crisis service and can't send help." in (numbers.text or "")
    assert "In an emergency, call your local emergency number: 112" in (numbers.text or "")
    assert "Go back to what I was doing" in what_now.button_texts
    ana.press("Go back to what I was doing")
    (_, again) = ana.expect(
        "Okay. Type sos whenever you want these numbers again.",
        "Was there a moment today when a boundary mattered?",
    )
    assert again.button_texts == question.button_texts
    ana.press("No such moment")  # the same question, picked up where it was left
    ana.expect("Okay, a quieter day for boundaries.", "Would you like to add a one-line note")


def crisis_mid_module_in_spanish(bea: Person) -> None:
    bea.command("start")
    bea.expect("Hola, soy relbot.")
    bea.press("Español")
    bea.expect("Soy un bot automático", "No soy terapia")
    bea.press("De acuerdo, sigue")
    bea.expect("¿Tienes 18 años o más?")
    bea.press("Sí, tengo 18 o más")
    bea.expect("Una última cosa", "Si dices que sí", "Si dices que no", "¿puedo guardar")
    bea.press("No, no las guardes")
    bea.expect("Está bien. Todo funciona igual", MENU_ES)
    bea.press("Registro diario")
    bea.expect("Un registro rápido", "Del 0 al 10")
    bea.send("Ya no quiero vivir")
    bea.expect("Parece que lo estás pasando muy mal")
    bea.press("A salvo por ahora")
    bea.expect("Me alegra que ahora estés a salvo.", "¿Qué te gustaría hacer ahora?")
    bea.press("Elegir mi país")
    bea.expect("¿En qué país estás?")
    bea.press("España")
    bea.expect("Dónde pedir ayuda en España:\nEmergencias: llama al 112.\nLínea 024",
               "¿Qué te gustaría hacer ahora?")
    bea.press("Volver a lo que hacía")
    bea.expect(  # only the interrupted question is asked again, not the module's opening
        "De acuerdo. Escribe sos siempre que quieras volver a ver estos números.",
        "Del 0 al 10, ¿cómo está tu ánimo hoy?",
    )
    bea.send("6")
    bea.expect("¿Hubo hoy algún momento en que un límite importara?")


def export_and_delete(ana: Person, db: Database) -> None:
    welcome_by_buttons(ana, store=True)
    ana.press("Daily check-in")
    ana.expect("Quick check-in", "From 0 to 10")
    ana.send("6")
    ana.expect("Was there a moment today")
    ana.press("No such moment")
    ana.expect("a quieter day for boundaries", "one-line note")
    ana.press("Add a note")
    ana.expect("Go ahead. One line is plenty.")
    ana.send("Said no to overtime")
    ana.expect("Did you do one thing for yourself today")
    ana.press("Yes, I'll name it")
    ana.expect("What was it?")
    ana.send("A long bath")
    ana.expect("Small things like that add up", "Doing this day by day", "Saved with", MENU)

    ana.command("export")
    text_doc, json_doc = ana.expect("Everything I have stored about you, to read.",
                                    "The same, as a JSON file for other apps.")
    assert text_doc.kind == json_doc.kind == "document"
    assert text_doc.file is not None and json_doc.file is not None
    assert text_doc.file.filename.startswith("relbot-my-data-")
    assert text_doc.file.filename.endswith(".txt") and json_doc.file.filename.endswith(".json")
    readable = (text_doc.file.content or b"").decode()
    for words in ("Your relbot data", "Keep my answers: yes", "Daily check-in, 20",
                  "Mood (0-10): 6", "Note: Said no to overtime",
                  "What you did for yourself: A long bath"):
        assert words in readable, (words, readable)
    exported = json.loads(json_doc.file.content or b"")
    assert (exported["format"], exported["version"]) == ("relbot-export", 1)
    assert [(r["kind"], r["answers"]) for r in exported["saved"]] == [
        (
            "daily_checkin",
            {
                "mood": 6,
                "boundary_moment": "none",
                "note": "Said no to overtime",
                "self_care_done": True,
                "self_care": "A long bath",
            },
        )
    ]
    assert exported["settings"]["consent"] == {"adult": True, "store_answers": True}
    assert exported["settings"]["language"] == "en"

    ana.command("delete")
    (confirm,) = ana.expect("This erases everything I have stored about you, for good.")
    assert confirm.button_texts == ["Yes, delete everything", "No, keep it"]
    ana.press("No, keep it")
    ana.fake.wait_for(
        lambda: ana.fake.message(ana.id, confirm.message_id).text == "Okay, nothing was deleted.",
        what="the confirmation to say nothing was deleted",
    )
    assert db.count("records", ana.id) == 1

    ana.command("delete")
    (confirm,) = ana.expect("This erases everything")
    ana.press("Yes, delete everything")
    done = ana.fake.wait_for(
        lambda: (m := ana.fake.message(ana.id, confirm.message_id)).text.startswith("Done.") and m,
        what="the confirmation that everything is deleted",
    )
    assert done.text.startswith("Done. Everything I had stored about you is gone.")
    assert done.buttons == []
    wait_until(lambda: not any(db.rows_about(ana.id).values()), what="no row about her")

    ana.command("export")
    ana.expect("I have nothing stored about you.")


# ---- all of them at once ----------------------------------------------------------------------
def start_polling(
    scenarios: Scenarios, fake: FakeTelegram, db: Database, new_user_id: Callable[[], int]
) -> None:
    """Long polling + SQLite: English by buttons, Spanish by typing, a crisis, export/delete."""

    def person(language_code: str = "en") -> Person:
        return Person(fake, new_user_id(), language_code)

    scenarios.start("en", lambda: daily_checkin_by_buttons(person(), db, store=True))
    scenarios.start("es", lambda: daily_checkin_by_typing_in_spanish(person("es"), db))
    scenarios.start("crisis-en", lambda: crisis_mid_module(person()))
    scenarios.start("export-delete", lambda: export_and_delete(person(), db))


def start_webhook(
    scenarios: Scenarios, fake: FakeTelegram, db: Database, new_user_id: Callable[[], int]
) -> None:
    """Webhook + PostgreSQL: English by buttons (answers not stored), Spanish by typing,
    a crisis in Spanish."""

    def person(language_code: str = "en") -> Person:
        return Person(fake, new_user_id(), language_code)

    scenarios.start("en", lambda: daily_checkin_by_buttons(person(), db, store=False))
    scenarios.start("es", lambda: daily_checkin_by_typing_in_spanish(person("es"), db))
    scenarios.start("crisis-es", lambda: crisis_mid_module_in_spanish(person("es")))
