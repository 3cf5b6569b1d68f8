"""What people send besides the expected answer, and in what order: media, edits, groups,
redelivered and jumping updates, quick bursts, several people at once.

relbot run with long polling, the example dialogues (``tour``), SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fakegram import FakeTelegram

from .harness import UNSUPPORTED, BotProcess, Database, Person, at_name_question


# ---- things the bot cannot read ---------------------------------------------------------------
def test_stickers_photos_voice_and_documents_get_a_polite_reply(
    fake: FakeTelegram, bot: BotProcess, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language do you prefer?")
    session = db.user(ana.id)
    fake.send_sticker(ana.id)
    fake.send_photo(ana.id, caption="my notes")
    fake.send_voice(ana.id)
    fake.send_document(ana.id, "diary.pdf", "application/pdf")
    replies = ana.expect(UNSUPPORTED, UNSUPPORTED, UNSUPPORTED, UNSUPPORTED)
    assert all(reply.buttons == [] for reply in replies)
    ana.expect_nothing_more()
    assert db.user(ana.id) == session  # still at the same question
    assert "Traceback" not in bot.output


def test_media_in_spanish_gets_the_spanish_reply(
    fake: FakeTelegram, person: Callable[..., Person]
) -> None:
    bea = person("es")
    bea.command("start")
    bea.expect("¡Hola!", "¿Qué idioma prefieres?")
    fake.send_sticker(bea.id)
    bea.expect("Solo puedo leer texto y botones")


def test_edited_message_is_ignored(
    fake: FakeTelegram, bot: BotProcess, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    at_name_question(ana)
    sent = ana.send("Ana")
    ana.expect("Thanks, Ana. From 0 to 10")
    session = db.user(ana.id)

    fake.edit_text(ana.id, fake.user_message_id(sent), "Bob")
    ana.expect_nothing_more()
    assert db.user(ana.id) == session  # still "Ana", still at the energy question
    assert "Traceback" not in bot.output


def test_group_chat_gets_one_reply_to_start_and_nothing_else(
    fake: FakeTelegram, bot: BotProcess, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    group = -1_009_000_000_000 - ana.id
    fake.send_group_text(ana.id, "hello bot", chat_id=group)
    fake.send_group_text(ana.id, "I want to kill myself", chat_id=group)
    fake.send_group_text(ana.id, "/help", chat_id=group)
    fake.send_group_text(ana.id, "/start", chat_id=group)
    (reply,) = fake.wait_for_messages(group, 1)
    assert reply.text is not None
    assert reply.text.startswith("I only talk in private chats")
    assert reply.buttons == []
    fake.send_group_text(ana.id, "/start@relbot_test_bot", chat_id=group)
    fake.wait_for_messages(group, 2)

    # Nothing about her was stored, and her private chat stays empty.
    assert db.user(ana.id) is None
    ana.expect_nothing_more()
    assert len(fake.messages(group)) == 2
    assert "Traceback" not in bot.output


# ---- duplicates and update ids ------------------------------------------------------------------
def test_redelivered_updates_are_applied_once(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language")
    press = ana.press("English")
    ana.expect("What should I call you?")
    name = ana.send("Ana")
    ana.expect("Thanks, Ana. From 0 to 10")
    session = db.user(ana.id)

    fake.redeliver(name)  # had it been applied again, "Ana" would be a wrong energy level
    fake.redeliver(press)
    fake.wait_for(lambda: not set(fake.pending_updates()) & {name, press}, what="redelivery")
    ana.expect_nothing_more()
    assert db.user(ana.id) == session
    assert len([a for a in fake.callback_answers() if a.user_id == ana.id]) == 1
    ana.send("8")
    ana.expect("How many hours did you sleep?")


def test_update_ids_that_jump_are_not_duplicates(
    fake: FakeTelegram, person: Callable[..., Person]
) -> None:
    ana = person()
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language")
    fake.jump_update_id(50_000)
    ana.press("English")
    ana.expect("What should I call you?")
    fake.jump_update_id(1)
    ana.send("Ana")
    ana.expect("Thanks, Ana.")
    fake.jump_update_id(7)
    ana.send("8")
    ana.expect("How many hours did you sleep?")


# ---- order and concurrency ---------------------------------------------------------------------
def test_quick_messages_are_handled_in_order(person: Callable[..., Person]) -> None:
    ana = person()
    ana.command("start")  # four updates before the first reply goes out
    ana.send("english")
    ana.send("Ana")
    ana.send("8")
    ana.expect(
        "Hi! This tour shows",
        "Which language do you prefer?",
        "What should I call you?",
        "Thanks, Ana. From 0 to 10",
        "How many hours did you sleep?",
    )
    ana.expect_nothing_more()


def test_two_people_at_once_progress_independently(
    fake: FakeTelegram, person: Callable[..., Person]
) -> None:
    ana, bea = person("en", "Ana"), person("es", "Bea")

    def tour(someone: Person, language: str, name: str, energy: str, *replies: str) -> None:
        someone.command("start")
        someone.expect(*replies[:2])
        someone.press(language)
        someone.expect(replies[2])
        someone.send(name)
        someone.expect(replies[3])
        someone.send(energy)
        someone.expect(replies[4])

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(
            tour, ana, "English", "Ana", "9",
            "Hi! This tour shows", "Which language", "What should I call you?",
            "Thanks, Ana. From 0 to 10", "How many hours did you sleep?",
        )  # fmt: skip
        second = pool.submit(
            tour, bea, "Español", "Bea", "2",
            "¡Hola!", "¿Qué idioma prefieres?", "¿Cómo quieres que te llame?",
            "Gracias, Bea. Del 0 al 10", "¿Cuántas horas dormiste?",
        )  # fmt: skip
        first.result(60)
        second.result(60)
    assert not any("Bea" in t for t in ana.texts())
    assert not any("Ana" in t for t in bea.texts())
    assert len(ana.messages()) == len(bea.messages()) == 5
