"""Homework in the chat: therapist invites, /assign, offers, /sharing, /clients, /report.

Why it looks like this: like `/export` and `/delete` (bot.privacy.desk), each action is
one transaction under the person's lock that reads, changes and queues its replies in the
outbox, all or nothing; a redelivered update does nothing twice.  No screen keeps state in
memory: a therapist's draft is a database row, and the rest rides in the buttons'
callback data (``hw:<step>:...``, under Telegram's 64 bytes).  What a therapist may see is
decided by the store (only accepted, unrevoked assignments of an active therapist) and by
`bot.homework.sharing` (only what the client ticked).  A message to the other side (the
therapist told "accepted" or only "not accepted") is queued in that person's own
transaction after the first one commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.compile import CompiledBundle
from bot.homework import LinkKind, QuietHours, Schedule, new_link, parse_payload
from bot.homework.qr import qr_png
from bot.homework.report import schedule_words
from bot.homework.texts import say
from bot.outbox import ApiCall
from bot.storage import Store, Transaction, UserRecord
from bot.storage.homework import Assignment, Reminder
from bot.tg.homework_views import Built, as_file, build_progress, build_report

__all__ = ["COMMANDS", "ZONES", "HomeworkDesk", "Outcome"]

COMMANDS = ("assign", "clients", "report", "homework", "sharing", "progress", "reminders",
            "invite", "notify")
PREFIX = "hw:"
HOURS = (8, 13, 18, 20)
SCHEDULES = ("once", "d7", "d14", "w14")
ZONES = ("Europe/Madrid", "Europe/London", "America/Mexico_City", "America/Bogota",
         "America/Argentina/Buenos_Aires", "America/Santiago", "America/New_York", "UTC")
QUIET = QuietHours(time(22), time(8))
_NOT_ASSIGNABLE = frozenset({"menu", "welcome", "trust"})
_MAX_NOTE = 500

LanguageFor = Callable[[UserRecord | None, str | None], str]
Keyboard = list[list[dict[str, str]]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the adapter does next: a pop-up for a press, and which chats to wake."""

    popup: str | None = None
    chats: tuple[int, ...] = ()


def _schedule(code: str, hour: int, start: Any) -> Schedule:
    at = time(hour)
    if code == "once":
        return Schedule("once", at, start)
    if code == "w14":
        return Schedule("weekdays", at, start, days=14, weekdays=frozenset({0, 2, 4}))
    return Schedule("daily", at, start, days=7 if code == "d7" else 14)


def _button(text: str, data: str) -> list[dict[str, str]]:
    return [{"text": text, "callback_data": data}]


class HomeworkDesk:
    """The homework screens; safe to call concurrently."""

    def __init__(self, store: Store, compiled: Callable[[], CompiledBundle],
                 language_for: LanguageFor, *, admin_ids: frozenset[int] = frozenset()
                 ) -> None:
        self.store = store
        self.admin_ids = admin_ids  # operators (ADMIN_USER_IDS) who may invite therapists
        self.compiled = compiled  # a callable: `relbot run --reload` may swap the bundle
        self.language_for = language_for

    # --- helpers ---------------------------------------------------------------------
    def modules(self) -> tuple[str, ...]:
        return tuple(sorted(d for d in self.compiled().dialogues
                            if d not in _NOT_ASSIGNABLE and not d.startswith("safety")))

    def title(self, module: str, language: str) -> str:
        dialogue = self.compiled().dialogues.get(module)
        if dialogue is None:
            return module.replace("_", " ")
        return str(dialogue.model.title.variants.get(language)
                   or dialogue.model.title.variants.get("en") or module)

    async def _language(self, tx: Transaction, language_code: str | None) -> str:
        return self.language_for(await tx.load_user(), language_code)

    @staticmethod
    async def _send(tx: Transaction, chat_id: int, text: str,
                    keyboard: Keyboard | None = None) -> None:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if keyboard:
            params["reply_markup"] = {"inline_keyboard": keyboard}
        await tx.enqueue(chat_id, "sendMessage", params)

    @staticmethod
    async def _edit(tx: Transaction, chat_id: int, message_id: int, text: str,
                    keyboard: Keyboard | None = None) -> None:
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text}
        if keyboard:
            params["reply_markup"] = {"inline_keyboard": keyboard}
        await tx.enqueue(chat_id, "editMessageText", params)

    async def _tell(self, user_id: int, key: str, **values: Any) -> None:
        """A message to the other side, in their own transaction and language."""
        async with self.store.transaction(user_id) as tx:
            user = await tx.load_user()
            chat_id = user.chat_id if user is not None else user_id
            language = self.language_for(user, None)
            if isinstance(values.get("modules"), list | tuple):  # titles in their language
                values["modules"] = ", ".join(self.title(m, language) for m in values["modules"])
            await self._send(tx, chat_id, say(key, language, **values))

    # --- links (/start <payload>) ----------------------------------------------------
    async def open_link(self, user_id: int, payload: str
                        ) -> tuple[list[Callable[[str], ApiCall]], bool]:
        """Use a link; returns the replies (built in the person's language by the caller's
        transaction) and whether the person is new (so the welcome follows)."""
        parsed = parse_payload(payload)
        async with self.store.transaction(user_id) as tx:
            new = await tx.load_user() is None
            grant = await tx.redeem_link(*parsed) if parsed is not None else None
        if grant is None:
            return [lambda lang: ApiCall("sendMessage", {"chat_id": user_id,
                                                         "text": say("not_valid", lang)})], new
        if grant.therapist is not None:
            name = grant.therapist.name
            return [lambda lang: ApiCall("sendMessage", {
                "chat_id": user_id, "text": say("therapist_welcome", lang, name=name)})], new
        offer = grant.assignment
        assert offer is not None
        therapists = {t.user_id: t.name for t in await self.store.therapists()}
        name = therapists.get(offer.therapist_id, "?")
        return [lambda lang: ApiCall("sendMessage", {
            "chat_id": user_id, "text": self.offer_text(offer, name, lang),
            "reply_markup": {"inline_keyboard": self.offer_keyboard(offer.id, 0, lang)}})], new

    async def show_open_offers(self, user_id: int, chat_id: int) -> int:
        """Show again the offers this person opened but has not answered (after the
        welcome, which a new person goes through first); returns how many."""
        async with self.store.transaction(user_id) as tx:
            user = await tx.load_user()
            if user is None or not user.consent.get("adult"):
                return 0
            language = self.language_for(user, None)
            names = {t.user_id: t.name for t in await tx.therapists()}
            offers = [a for a in await tx.my_assignments() if a.status == "offered"]
            for offer in offers:
                await self._send(tx, chat_id,
                                 self.offer_text(offer, names.get(offer.therapist_id, "?"),
                                                 language),
                                 self.offer_keyboard(offer.id, 0, language))
        return len(offers)

    def offer_text(self, offer: Assignment, therapist: str, language: str) -> str:
        note = say("offer_note", language, note=offer.note) if offer.note else ""
        modules = "\n".join(f"• {self.title(m, language)}" for m in offer.modules)
        return say("offer", language, therapist=therapist, modules=modules, note=note,
                   schedule=schedule_words(offer.schedule, language),
                   time=offer.schedule.at.strftime("%H:%M"))

    def offer_keyboard(self, offer_id: int, ticks: int, language: str) -> Keyboard:
        def box(bit: int) -> str:
            return "☑" if ticks & bit else "☐"

        return [_button(f"{box(1)} {say('tick_free_text', language)}",
                        f"{PREFIX}t:{offer_id}:{ticks ^ 1}"),
                _button(f"{box(2)} {say('tick_scripts', language)}",
                        f"{PREFIX}t:{offer_id}:{ticks ^ 2}"),
                _button(say("offer_accept", language), f"{PREFIX}y:{offer_id}:{ticks}"),
                _button(say("offer_decline", language), f"{PREFIX}d:{offer_id}")]

    # --- commands --------------------------------------------------------------------
    async def command(self, name: str, argument: str, update_id: int, user_id: int,
                      chat_id: int, language_code: str | None) -> Outcome:
        report: Built | None = None
        if name == "report" and argument.strip().isdigit():
            report = await build_report(self, user_id, int(argument.strip()),
                                        language_code)
        elif name == "progress":
            report = await build_progress(self, user_id, language_code)
        async with self.store.transaction(user_id) as tx:
            if await tx.seen(update_id):
                return Outcome()
            language = await self._language(tx, language_code)
            if report is not None:
                for method, params in report.calls:
                    await tx.enqueue(chat_id, method, {"chat_id": chat_id, **params})
            elif name == "notify":
                await self._notify(tx, chat_id, language)
            elif name == "invite":
                await self._invite(tx, chat_id, argument.strip()[:80], language)
            elif name == "assign":
                await self._assign(tx, chat_id, argument.strip()[:_MAX_NOTE], language)
            elif name == "clients":
                await self._clients(tx, chat_id, language)
            elif name == "report":
                await self._send(tx, chat_id, say("report_usage", language))
            elif name == "homework":
                await self._homework(tx, chat_id, language)
            elif name == "reminders":
                await self._reminders(tx, chat_id, language)
            else:
                await self._sharing(tx, chat_id, language)
            await tx.mark_seen(update_id)
        return Outcome(chats=(chat_id,))

    async def _notify(self, tx: Transaction, chat_id: int, language: str) -> None:
        me = await tx.therapist()
        if me is None:
            await self._send(tx, chat_id, say("not_therapist", language))
            return
        await tx.set_notify_done(not me.notify_done)
        await self._send(tx, chat_id, say("notify_off" if me.notify_done else "notify_on",
                                          language))

    async def done_told(self, client_id: int, modules: tuple[str, ...]) -> list[int]:
        """After a client finished modules: tell the therapists who asked (in their own
        transaction and language); returns their chats."""
        told: list[int] = []
        for module in modules:
            for therapist in await self.store.therapists_to_tell(client_id, module):
                async with self.store.transaction(therapist) as tx:
                    user = await tx.load_user()
                    chat_id = user.chat_id if user is not None else therapist
                    language = self.language_for(user, None)
                    await self._send(tx, chat_id, say("told_done", language, client=client_id,
                                                      module=self.title(module, language)))
                told.append(chat_id)
        return told

    async def _invite(self, tx: Transaction, chat_id: int, name: str, language: str) -> None:
        """An operator's therapist invite from Telegram, like `relbot therapist invite`."""
        if tx.user_id not in self.admin_ids:
            await self._send(tx, chat_id, say("not_admin", language))
            return
        if not name:
            await self._send(tx, chat_id, say("invite_usage", language))
            return
        link = new_link(LinkKind.THERAPIST, self.store.now())
        await tx.add_therapist_invite(name, link)
        url = link.url(self.username) if self.username else link.command
        await self._send(tx, chat_id, say("invite_ready", language, name=name, url=url,
                                          command=link.command))

    async def _assign(self, tx: Transaction, chat_id: int, note: str, language: str) -> None:
        draft = await tx.draft_assignment(note or None)
        if draft is None:
            await self._send(tx, chat_id, say("not_therapist", language))
            return
        await self._send(tx, chat_id, say("assign_modules", language),
                         self.module_keyboard(draft.id, 0, language))

    def module_keyboard(self, draft_id: int, mask: int, language: str) -> Keyboard:
        rows = [_button(f"{'☑' if mask & (1 << i) else '☐'} {self.title(m, language)}",
                        f"{PREFIX}m:{draft_id}:{mask ^ (1 << i)}")
                for i, m in enumerate(self.modules())]
        return [*rows, _button(say("assign_next", language), f"{PREFIX}n:{draft_id}:{mask}")]

    async def _clients(self, tx: Transaction, chat_id: int, language: str) -> None:
        if await tx.therapist() is None:
            await self._send(tx, chat_id, say("not_therapist", language))
            return
        lines = []
        for a in await tx.my_clients():
            done = len(await tx.done_of(a.id))
            lines.append(say("clients_item", language, client=a.client_id, done=done,
                             modules=", ".join(self.title(m, language) for m in a.modules)))
        await self._send(tx, chat_id, "\n".join(lines) or say("clients_none", language))

    async def _reminders(self, tx: Transaction, chat_id: int, language: str) -> None:
        mine = [r for r in await tx.my_reminders()
                if r.assignment_id is None and r.schedule is not None]
        lines = [say("reminders_item", language, time=r.schedule.at.strftime("%H:%M"),
                     zone=r.schedule.tz) for r in mine if r.schedule is not None]
        keyboard = [_button(say("reminder_at", language, time=f"{h:02d}:00"),
                            f"{PREFIX}pr:{h}") for h in HOURS]
        if mine:
            keyboard.append(_button(say("reminders_stop", language), f"{PREFIX}ps:0"))
        text = "\n".join(lines) or say("reminders_none", language)
        await self._send(tx, chat_id, f"{text}\n\n{say('reminders_pick', language)}", keyboard)

    async def _homework(self, tx: Transaction, chat_id: int, language: str) -> None:
        names = {t.user_id: t.name for t in await tx.therapists()}
        lines = []
        for a in await tx.my_assignments():
            if a.status != "accepted":
                continue
            done = len(await tx.done_of(a.id))
            lines.append(say("homework_item", language, therapist=names.get(a.therapist_id),
                             modules=", ".join(self.title(m, language) for m in a.modules),
                             schedule=schedule_words(a.schedule, language), done=done,
                             time=a.schedule.at.strftime("%H:%M")))
        await self._send(tx, chat_id, "\n".join(lines) or say("homework_none", language))

    async def _sharing(self, tx: Transaction, chat_id: int, language: str) -> None:
        """What each therapist can see, one entry and one stop button per therapist."""
        names = {t.user_id: t.name for t in await tx.therapists()}
        by_therapist: dict[int, list[Assignment]] = {}
        for a in await tx.my_assignments():
            if a.status == "accepted":
                by_therapist.setdefault(a.therapist_id, []).append(a)
        lines, keyboard = [], []
        for therapist, assignments in by_therapist.items():
            what = [say("share_default", language)]
            if any(a.sharing.get("free_text") for a in assignments):
                what.append(say("share_free_text", language))
            if any(a.sharing.get("scripts") for a in assignments):
                what.append(say("share_scripts", language))
            modules = dict.fromkeys(m for a in assignments for m in a.modules)
            name = names.get(therapist, "?")
            lines.append(say("sharing_item", language, therapist=name, what="; ".join(what),
                             modules=", ".join(self.title(m, language) for m in modules)))
            keyboard.append(_button(say("stop_sharing", language, therapist=name),
                                    f"{PREFIX}r:{assignments[0].id}"))
        await self._send(tx, chat_id, "\n\n".join(lines) or say("sharing_none", language),
                         keyboard)

    # --- reminders (bot.tg.reminders) ------------------------------------------------
    async def fire(self, reminder: Reminder) -> int | None:
        """Send one due reminder in the person's transaction; the chat, or None if it was
        not due any more (another replica, an ended assignment, a blocked bot)."""
        async with self.store.transaction(reminder.user_id) as tx:
            fired = await tx.fire_reminder(reminder.id)
            if fired is None:
                return None
            user = await tx.load_user()
            chat_id = user.chat_id if user is not None else reminder.user_id
            language = self.language_for(user, None)
            modules: tuple[str, ...] = ("daily_checkin",)
            text = say("reminder_personal", language)
            if fired.assignment_id is not None:
                mine = [a for a in await tx.my_assignments() if a.id == fired.assignment_id]
                if not mine:
                    return None
                names = {t.user_id: t.name for t in await tx.therapists()}
                modules = mine[0].modules
                text = say("reminder", language, therapist=names.get(mine[0].therapist_id, "?"),
                           modules=", ".join(self.title(m, language) for m in modules))
            keyboard = [_button(say("start_now", language, module=self.title(m, language)),
                                f"{PREFIX}go:{m}") for m in modules]
            keyboard.append(_button(say("snooze", language),
                                    f"{PREFIX}snz:{fired.assignment_id or 0}"))
            await self._send(tx, chat_id, text, keyboard)
        return chat_id

    @staticmethod
    def module_to_start(data: str) -> str | None:
        """``hw:go:<module>`` -> the module a reminder's "start now" opens."""
        prefix = f"{PREFIX}go:"
        return data[len(prefix):] if data.startswith(prefix) else None

    # --- presses ---------------------------------------------------------------------
    async def pressed(self, data: str, update_id: int, user_id: int, chat_id: int,
                      message_id: int, language_code: str | None) -> Outcome:
        parts = data[len(PREFIX):].split(":")
        step, numbers = parts[0], parts[1:]
        if not numbers or not all(p.isascii() and p.isdigit() and len(p) <= 12
                                  for p in numbers if p not in SCHEDULES):
            return Outcome(popup=say("offer_gone", self.language_for(None, language_code)))
        tell: tuple[int, str, dict[str, Any]] | None = None
        async with self.store.transaction(user_id) as tx:
            if await tx.seen(update_id):
                return Outcome()
            language = await self._language(tx, language_code)
            popup, tell = await self._step(tx, step, numbers, chat_id, message_id, language)
            await tx.mark_seen(update_id)
        chats = [chat_id]
        if tell is not None:
            await self._tell(tell[0], tell[1], **tell[2])
            chats.append(tell[0])
        return Outcome(popup=popup, chats=tuple(chats))

    async def _step(self, tx: Transaction, step: str, n: list[str], chat_id: int,
                    message_id: int, language: str
                    ) -> tuple[str | None, tuple[int, str, dict[str, Any]] | None]:
        gone = say("offer_gone", language)
        if step in ("m", "n", "s", "f"):  # the therapist's /assign, one tap at a time
            draft, mask = int(n[0]), int(n[1]) if len(n) > 1 else 0
            modules = [m for i, m in enumerate(self.modules()) if mask & (1 << i)]
            if step == "m":
                await self._edit(tx, chat_id, message_id, say("assign_modules", language),
                                 self.module_keyboard(draft, mask, language))
            elif not modules:
                return say("assign_pick_one", language), None
            elif step == "n":
                await self._edit(tx, chat_id, message_id, say("assign_schedule", language), [
                    _button(say(f"schedule_{c}", language), f"{PREFIX}s:{draft}:{mask}:{c}")
                    for c in SCHEDULES])
            elif step == "s" and len(n) == 3 and n[2] in SCHEDULES:
                await self._edit(tx, chat_id, message_id, say("assign_time", language), [
                    _button(f"{h:02d}:00", f"{PREFIX}f:{draft}:{mask}:{n[2]}:{h}")
                    for h in HOURS])
            elif step == "f" and len(n) == 4 and n[2] in SCHEDULES and int(n[3]) in HOURS:
                return await self._finish(tx, draft, modules, n[2], int(n[3]), chat_id,
                                          message_id, language), None
            else:
                return gone, None
            return None, None
        offer_id = int(n[0])
        if step == "t" and len(n) == 2:
            mine = [a for a in await tx.my_assignments() if a.id == offer_id]
            if not mine or mine[0].status != "offered":
                return gone, None
            await tx.enqueue(chat_id, "editMessageReplyMarkup", {
                "chat_id": chat_id, "message_id": message_id, "reply_markup": {
                    "inline_keyboard": self.offer_keyboard(offer_id, int(n[1]) & 3, language)}})
            return None, None
        if step == "y" and len(n) == 2:
            zones = [_button(say(f"zone_{i}", language), f"{PREFIX}z:{offer_id}:{n[1]}:{i}")
                     for i in range(len(ZONES))]
            await self._edit(tx, chat_id, message_id, say("ask_zone", language), zones)
            return None, None
        if step == "z" and len(n) == 3 and int(n[2]) < len(ZONES):
            ticks = int(n[1])
            answered = await tx.answer_assignment(
                offer_id, accept=True, tz=ZONES[int(n[2])], quiet=QUIET,
                sharing={"free_text": bool(ticks & 1), "scripts": bool(ticks & 2)})
            if answered is None:
                return gone, None
            name = {t.user_id: t.name for t in await tx.therapists()}.get(
                answered.therapist_id, "?")
            [first, *_] = [r for r in await tx.my_reminders()
                           if r.assignment_id == answered.id] or [None]
            when = (first.due_at.astimezone(ZoneInfo(answered.schedule.tz)).strftime("%d/%m %H:%M")
                    if first is not None else "-")
            await self._edit(tx, chat_id, message_id,
                             say("accepted", language, therapist=name, first=when))
            return None, (answered.therapist_id, "told_accepted",
                          {"client": tx.user_id, "modules": list(answered.modules)})
        if step == "d":
            answered = await tx.answer_assignment(offer_id, accept=False)
            if answered is None:
                return gone, None
            await self._edit(tx, chat_id, message_id, say("declined", language))
            return None, (answered.therapist_id, "told_declined", {})
        if step == "pr" and int(n[0]) in HOURS:
            zones = [_button(say(f"zone_{i}", language), f"{PREFIX}pz:{n[0]}:{i}")
                     for i in range(len(ZONES))]
            await self._edit(tx, chat_id, message_id, say("ask_zone", language), zones)
            return None, None
        if step == "pz" and len(n) == 2 and int(n[0]) in HOURS and int(n[1]) < len(ZONES):
            await self._stop_personal(tx)
            if await tx.load_user() is None:  # reminders are sent in the person's language
                await tx.save_user(UserRecord(tx.user_id, chat_id, language=language))
            today = self.store.now().astimezone(ZoneInfo(ZONES[int(n[1])])).date()
            schedule = Schedule("daily", time(int(n[0])), today, ZONES[int(n[1])], None)
            await tx.add_reminder(schedule, QUIET)
            await self._edit(tx, chat_id, message_id,
                             say("reminders_set", language, time=f"{int(n[0]):02d}:00"))
            return None, None
        if step == "ps":
            await self._stop_personal(tx)
            await self._edit(tx, chat_id, message_id, say("reminders_stopped", language))
            return None, None
        if step == "snz":
            assignment = int(n[0]) or None
            if assignment is not None and assignment not in {
                    a.id for a in await tx.my_assignments() if a.status == "accepted"}:
                return gone, None
            await tx.add_reminder(None, QUIET, assignment,
                                  due_at=self.store.now() + timedelta(hours=1))
            await self._edit(tx, chat_id, message_id, say("snoozed", language))
            return None, None
        if step == "r":  # stop sharing with the therapist of this assignment: all of it
            mine = await tx.my_assignments()
            therapist = next((a.therapist_id for a in mine if a.id == offer_id), None)
            revoked = [i for a in mine if a.therapist_id == therapist and a.status == "accepted"
                       for i in await tx.revoke_sharing(a.id)]
            if not revoked:
                return gone, None
            name = {t.user_id: t.name for t in await tx.therapists()}.get(therapist or 0, "?")
            await self._send(tx, chat_id, say("sharing_stopped", language, therapist=name))
            return None, None
        return gone, None

    @staticmethod
    async def _stop_personal(tx: Transaction) -> None:
        for reminder in await tx.my_reminders():
            if reminder.assignment_id is None:
                await tx.stop_reminder(reminder.id)

    async def _finish(self, tx: Transaction, draft: int, modules: list[str], code: str,
                      hour: int, chat_id: int, message_id: int, language: str) -> str | None:
        now = self.store.now()
        schedule = _schedule(code, hour, (now + timedelta(days=1)).date())
        link = new_link(LinkKind.ASSIGNMENT, now)
        done = await tx.finish_assignment(draft, modules, schedule, link)
        if done is None:
            return say("assign_done_already", language)
        url = link.url(self.username) if self.username else link.command
        await self._edit(tx, chat_id, message_id,
                         say("assign_ready", language, url=url, command=link.command))
        if self.username:  # a QR code of the link, to show on a screen or print
            await tx.enqueue(chat_id, "sendPhoto", {
                "chat_id": chat_id, "caption": say("assign_qr", language),
                "photo": as_file("assignment-link.png", qr_png(url))})
        return None

    username: str = ""  # the bot's @username, set once Telegram has told us (getMe)

