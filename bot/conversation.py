"""The shell around the pure core: one update in, state and replies committed together.

Every incoming event passes through `Conversation.handle` and nowhere else: that is
where a redelivered update is recognised (the inbox), free text is screened for crisis
disclosures before the dialogue step, the step runs, and the new session, the replies
(as outbox rows) and the records the person agreed to keep are written in ONE
transaction under the person's lock. Nothing here knows Telegram: the adapter injects
the `Renderer` that turns outputs into its API calls, and its sender makes the outbox's
calls after commit.

A flagged turn, or one on a safety module, is urgent (`Turn.urgent`): in the same
transaction the person's older queued, non-urgent replies are superseded (a module's
text that the interruption made obsolete is never sent) and the turn's replies are
stored as urgent rows, which the sender makes first, without its per-chat pacing
(`Handled.urgent` tells it to look now). Urgent rows are never superseded themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.core.compile import CompiledBundle, normalize
from bot.core.types import (
    Ended,
    Event,
    IntentInvoked,
    Message,
    Output,
    RecordSaved,
    Session,
    SettingChanged,
    Stale,
    Started,
    Typed,
)
from bot.logs import user_ref
from bot.outbox import ApiCall, PressedMessage, Renderer
from bot.privacy.keeping import forget_on_withdrawal, notice_for
from bot.safety import Screen
from bot.storage import Store, Transaction, UserRecord
from bot.turn import take_turn

__all__ = ["Conversation", "Handled", "Incoming"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    """An update reduced to what the conversation needs."""

    update_id: int
    user_id: int
    chat_id: int
    event: Event | None = None  # None: only bookkeeping (e.g. a message we ignore)
    language_code: str | None = None
    pressed: PressedMessage | None = None
    # Adapter replies to send in order, before the step's; a callable gets the person's
    # language (their stored choice, which only the transaction knows).
    extra: tuple[ApiCall | Callable[[str], ApiCall], ...] = ()
    # Replies whose buttons carry the session's step (language, step), so that a second
    # tap, or a tap after the person moved on, is stale (the /language keyboard).
    stepped: tuple[Callable[[str, int], ApiCall], ...] = ()


@dataclass(frozen=True, slots=True)
class Handled:
    duplicate: bool = False
    stale_text: str | None = None  # for answering a stale button press
    language: str = "en"
    urgent: bool = False  # safety replies were queued: send them first, now
    ended: tuple[str, ...] = ()  # modules finished in this turn (not left half-way)


class Conversation:
    """Applies incoming events for many people; safe to call concurrently."""

    def __init__(self, store: Store, compiled: CompiledBundle, screen: Screen,
                 render: Renderer, on_flag: Callable[[str], None] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.compiled = compiled
        self.screen = screen
        self.render = render
        self.on_flag = on_flag  # told each flag's category (metrics count them), never text
        self.clock = clock or (lambda: datetime.now(UTC))

    def language_for(self, user: UserRecord | None, language_code: str | None,
                     compiled: CompiledBundle | None = None) -> str:
        """The person's language: their choice, else Telegram's, if we have it, else English."""
        if user is not None and user.language:
            return user.language
        code = (language_code or "").split("-")[0].lower()
        return code if code in (compiled or self.compiled).config.languages else "en"

    async def handle(self, incoming: Incoming) -> Handled:
        compiled = self.compiled  # once per update: `relbot run --reload` may swap it
        flagged: str | None = None
        async with self.store.transaction(incoming.user_id) as tx:
            if await tx.seen(incoming.update_id):
                log.info("duplicate update skipped user=%s", user_ref(incoming.user_id))
                return Handled(duplicate=True)
            user = await tx.load_user()
            language = self.language_for(user, incoming.language_code, compiled)
            if user is None:
                user = UserRecord(incoming.user_id, incoming.chat_id, language=language)
            session = Session.from_json(user.session)
            if "language" not in session.vars:
                session = replace(session, vars={**session.vars, "language": language})
            calls = [c if isinstance(c, ApiCall) else c(language) for c in incoming.extra]
            calls += [build(language, session.step) for build in incoming.stepped]
            outputs: tuple[Output, ...] = ()
            urgent = False
            if incoming.event is not None:
                event = self.with_time_away(incoming.event, user)
                turn = take_turn(compiled, self.screen, session, event)
                if turn.flag is not None:  # the category only: never the text
                    log.warning("crisis screen matched category=%s user=%s",
                                turn.flag.category, user_ref(incoming.user_id))
                    flagged = turn.flag.category
                session, outputs, urgent = turn.session, turn.outputs, turn.urgent
                if any(isinstance(o, Stale) for o in outputs):
                    calls = []  # a stale press changes nothing, the adapter's replies neither
                notice = notice_for(user)  # retention or a lost key: say so, once
                if notice is not None:
                    outputs = (Message(compiled.string(notice, language)), *outputs)
                    user = replace(user, notice=None)
                calls += self.render(outputs, incoming.chat_id, session.step, incoming.pressed)
            leaving = _leaves_the_module(incoming.event, compiled, session.language)
            user = await self.apply_settings(tx, user, outputs, leaving=leaving)
            user = replace(user, chat_id=incoming.chat_id, session=session.to_json(),
                           unreachable=False)
            await tx.save_user(user)
            if urgent:
                superseded = await tx.supersede_queued(incoming.chat_id)
                log.info("safety replies first user=%s superseded=%d",
                         user_ref(incoming.user_id), superseded)
            for call in calls:
                if urgent:
                    await tx.enqueue_urgent(incoming.chat_id, call.method, call.params)
                else:
                    await tx.enqueue(incoming.chat_id, call.method, call.params)
            await tx.mark_seen(incoming.update_id)
        if flagged is not None and self.on_flag is not None:
            self.on_flag(flagged)  # after the commit: a transaction run again counts once
        stale = next((o.text for o in outputs if isinstance(o, Stale)), None)
        ended = () if leaving else tuple(o.module for o in outputs if isinstance(o, Ended))
        return Handled(stale_text=stale, language=session.language, urgent=urgent,
                       ended=ended)

    def with_time_away(self, event: Event, user: UserRecord) -> Event:
        """Typed text carries the hours since the person last wrote (the core has no
        clock): after a long gap, `returning` greets them before taking it as an answer."""
        if not isinstance(event, Typed) or user.updated_at is None:
            return event
        last = user.updated_at
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        hours = (self.clock() - last).total_seconds() / 3600
        return replace(event, away_hours=max(hours, 0.0))

    async def apply_settings(self, tx: Transaction, user: UserRecord,
                             outputs: tuple[Output, ...], *, leaving: bool = False
                             ) -> UserRecord:
        """Persist language/consent changes, records only with `store_answers` consent, and
        the end of a module a therapist assigned (the client agreed to share that); a
        module left half-way (`leaving`: restart, cancel, menu, another start) does not
        count as done."""
        consent = dict(user.consent)
        language = user.language
        for output in outputs:
            if isinstance(output, SettingChanged):
                if output.name == "language":
                    language = str(output.value)
                else:
                    consent[output.name] = bool(output.value)
        await forget_on_withdrawal(tx, user.consent, consent)
        for output in outputs:
            if isinstance(output, RecordSaved) and consent.get("store_answers"):
                await tx.add_record(output.kind, dict(output.data))
            elif isinstance(output, Ended) and not leaving:  # homework: a module finished
                await tx.module_done(output.module)
        return replace(user, language=language, consent=consent)


def _leaves_the_module(event: Event | None, compiled: CompiledBundle, language: str) -> bool:
    """An event that stops the module in hand rather than finishing it: a start, an intent
    (restart, cancel, menu), or words that name one. The engine reports both as `Ended`."""
    if isinstance(event, Started | IntentInvoked):
        return True
    if isinstance(event, Typed):
        return normalize(event.text[:200]) in compiled.intent_words.get(language, {})
    return False
