"""The SQLite backend's statements, kept apart so `sqlite.py` reads as the mechanism.

Timestamps are fixed-width ISO-8601 UTC text, so comparing text compares times.
"""

from __future__ import annotations

from bot.storage.models import SENDABLE

__all__ = [
    "PENDING_ALL",
    "PENDING_CHAT",
    "_CLAIM_JOB",
    "_FORGET_SENT_OF_UNKNOWN",
    "_INACTIVE",
    "_KEY_USAGE",
    "_MARK_FAILED",
    "_MARK_SENT",
    "_PENDING",
    "_RECENT_SENDS",
    "_SAVE_USER",
    "_TO_RESEAL",
]

_SAVE_USER = """
INSERT INTO users (user_id, chat_id, language, session, consent, unreachable,
                   created_at, updated_at, delete_token, delete_expires, notice)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (user_id) DO UPDATE SET
    chat_id = excluded.chat_id, language = excluded.language, session = excluded.session,
    consent = excluded.consent, unreachable = excluded.unreachable,
    updated_at = excluded.updated_at, delete_token = excluded.delete_token,
    delete_expires = excluded.delete_expires, notice = excluded.notice
RETURNING *"""

# Sent: keep what ordering and dedupe need, drop the text. A person who was erased
# (the reply to /delete) keeps no row at all once it is sent. Each is one statement in
# its own (autocommit) transaction: the usual case is the first alone.
_MARK_SENT = (
    "UPDATE outbox SET status = 'sent', message_id = ?, finished_at = ?, params = '{}'"
    f" WHERE id = ? AND {SENDABLE}"
    " AND EXISTS (SELECT 1 FROM users AS u WHERE u.user_id = outbox.user_id)"
)
_FORGET_SENT_OF_UNKNOWN = (
    f"DELETE FROM outbox WHERE id = ? AND {SENDABLE}"
    " AND NOT EXISTS (SELECT 1 FROM users AS u WHERE u.user_id = outbox.user_id)"
)
_RECENT_SENDS = (
    "SELECT finished_at FROM outbox WHERE finished_at >= ? AND chat_id = ?"
    " AND status = 'sent' AND method = 'sendMessage' ORDER BY finished_at"
)
_INACTIVE = """
SELECT u.user_id FROM users AS u
WHERE u.updated_at < ?
  AND (u.session IS NOT NULL OR EXISTS (SELECT 1 FROM records AS r WHERE r.user_id = u.user_id))
ORDER BY u.updated_at LIMIT ?"""
_CLAIM_JOB = """
INSERT INTO job_runs (job, last_run_at) VALUES (?, ?)
ON CONFLICT (job) DO UPDATE SET last_run_at = excluded.last_run_at
WHERE job_runs.last_run_at <= ?
RETURNING job"""
_TO_RESEAL = """
SELECT user_id FROM users WHERE session IS NOT NULL AND substr(session, 1, :n) <> :p
  AND user_id > :after
UNION
SELECT user_id FROM outbox WHERE params <> '{}' AND substr(params, 1, :n) <> :p
  AND user_id > :after
UNION
SELECT user_id FROM records WHERE substr(data, 1, :n) <> :p AND user_id > :after
UNION
SELECT user_id FROM assignments WHERE note IS NOT NULL AND substr(note, 1, :n) <> :p
  AND user_id > :after
ORDER BY 1 LIMIT :limit"""
_KEY_USAGE = """
SELECT CASE WHEN substr(v, 1, 4) = 'rb1.'
            THEN substr(v, 5, instr(substr(v, 5), '.') - 1) ELSE 'plain' END AS key_id,
       COUNT(*)
FROM (SELECT session AS v FROM users WHERE session IS NOT NULL
      UNION ALL SELECT params FROM outbox WHERE params <> '{}'
      UNION ALL SELECT data FROM records
      UNION ALL SELECT note FROM assignments WHERE note IS NOT NULL)
GROUP BY key_id"""

# A row is due if neither it nor an earlier pending row of its chat waits for a later time:
# that keeps per-chat order across retries.  Both halves use the partial pending indexes.
_PENDING = """
SELECT * FROM outbox AS o
WHERE o.status = 'pending' {chat_filter}
  AND NOT EXISTS (
      SELECT 1 FROM outbox AS b
      WHERE b.status = 'pending' AND b.chat_id = o.chat_id
        AND b.id <= o.id AND b.not_before > :now)
ORDER BY o.id
LIMIT :limit"""
PENDING_ALL = _PENDING.format(chat_filter="")
PENDING_CHAT = _PENDING.format(chat_filter="AND o.chat_id = :chat_id")

_MARK_FAILED = """
UPDATE outbox SET
    attempts = attempts + 1,
    last_error = :error,
    status = CASE WHEN :permanent OR attempts + 1 >= :max THEN 'dead' ELSE 'pending' END,
    not_before = COALESCE(:retry_at, not_before),
    finished_at = CASE WHEN :permanent OR attempts + 1 >= :max THEN :now ELSE NULL END
WHERE id = :id AND status = 'pending'
RETURNING status"""
