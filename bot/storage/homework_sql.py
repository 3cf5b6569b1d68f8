"""Homework statements, written once for SQLite and PostgreSQL (``?`` placeholders).

Why one file: the tables of migration 4 use only what both dialects share (TEXT for JSON,
the dialect's own timestamp type bound from Python ``datetime``, ``RETURNING``), so each
statement exists once; the backends' ``_sql`` hooks adapt placeholders and parameters.
"""

from __future__ import annotations

__all__ = [
    "ACTIVE_THERAPIST",
    "ADD_DONE",
    "ADD_DONE_FOR_MODULE",
    "ADD_LINK",
    "ADD_REMINDER",
    "ANSWER",
    "ASSIGNMENTS_MADE",
    "ASSIGNMENT_OF_CLIENT",
    "BIND_CLIENT",
    "CLAIM_REMINDERS",
    "CLIENT_ASSIGNMENTS",
    "COUNT_DUE_REMINDERS",
    "DELETE_REMINDER",
    "DONE_OF_ASSIGNMENTS",
    "ERASE",
    "FINALISE",
    "LINK_FOR_UPDATE",
    "MOVE_REMINDER",
    "NEW_ASSIGNMENT",
    "REMINDERS_OF_USER",
    "REMINDER_DUE",
    "REVOKE",
    "REVOKE_ONE",
    "REVOKE_THERAPIST",
    "SET_NOTIFY",
    "STOP_ALL_REMINDERS",
    "STOP_REMINDERS_OF",
    "THERAPISTS",
    "THERAPIST_ACCOUNT",
    "THERAPIST_CLIENT",
    "THERAPIST_CLIENTS",
    "TO_NOTIFY",
    "UPSERT_THERAPIST",
    "USE_LINK",
]

ACTIVE_THERAPIST = "SELECT * FROM therapists WHERE user_id = ? AND revoked_at IS NULL"
THERAPISTS = "SELECT * FROM therapists ORDER BY created_at, user_id"
UPSERT_THERAPIST = """
INSERT INTO therapists (user_id, name, created_at) VALUES (?, ?, ?)
ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, revoked_at = NULL
RETURNING *"""
SET_NOTIFY = """
UPDATE therapists SET notify_done = ? WHERE user_id = ? AND revoked_at IS NULL
RETURNING user_id"""
# Therapists who asked to hear when this client finishes one of their assigned modules.
TO_NOTIFY = """
SELECT DISTINCT a.user_id FROM assignments AS a JOIN therapists AS t ON t.user_id = a.user_id
WHERE a.client_id = ? AND a.status = 'accepted' AND t.revoked_at IS NULL
  AND t.notify_done = 1 AND a.modules LIKE ?
ORDER BY a.user_id"""
REVOKE_THERAPIST = """
UPDATE therapists SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING user_id"""

ADD_LINK = """
INSERT INTO links (token_hash, user_id, kind, name, assignment_id, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)"""
LINK_FOR_UPDATE = """
SELECT * FROM links WHERE token_hash = ? AND kind = ? AND expires_at > ?"""
# Conditional, so of two people opening one link at the same moment only one gets it.
USE_LINK = """
UPDATE links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL RETURNING token_hash"""

NEW_ASSIGNMENT = """
INSERT INTO assignments (user_id, modules, schedule, note, created_at)
VALUES (?, ?, ?, ?, ?) RETURNING *"""
# A draft (from /assign, holding the note) has no modules yet and no link.
FINALISE = """
UPDATE assignments SET modules = ?, schedule = ?
WHERE id = ? AND user_id = ? AND modules = '[]' RETURNING *"""
BIND_CLIENT = """
UPDATE assignments SET client_id = ?
WHERE id = ? AND (client_id IS NULL OR client_id = ?) AND status = 'offered' AND user_id <> ?
  AND modules <> '[]'
  AND user_id IN (SELECT user_id FROM therapists WHERE revoked_at IS NULL)
RETURNING *"""
ASSIGNMENT_OF_CLIENT = "SELECT * FROM assignments WHERE id = ? AND client_id = ?"
CLIENT_ASSIGNMENTS = "SELECT * FROM assignments WHERE client_id = ? ORDER BY id"
# /export: everything this person made as a therapist (drafts and revoked ones included).
ASSIGNMENTS_MADE = "SELECT * FROM assignments WHERE user_id = ? ORDER BY id"
THERAPIST_ACCOUNT = "SELECT * FROM therapists WHERE user_id = ?"
ANSWER = """
UPDATE assignments SET status = ?, sharing = ?, schedule = ?, answered_at = ?
WHERE id = ? AND client_id = ? AND status = 'offered' RETURNING *"""
REVOKE = """
UPDATE assignments SET status = 'revoked', revoked_at = ?
WHERE client_id = ? AND status = 'accepted' RETURNING *"""
REVOKE_ONE = REVOKE.replace("RETURNING", "AND id = ? RETURNING")
THERAPIST_ASSIGNMENTS = """
SELECT a.* FROM assignments AS a JOIN therapists AS t ON t.user_id = a.user_id
WHERE a.user_id = ? AND t.revoked_at IS NULL AND a.status = 'accepted'
  AND a.client_id IS NOT NULL {client}
ORDER BY a.client_id, a.id"""
THERAPIST_CLIENTS = THERAPIST_ASSIGNMENTS.format(client="")
THERAPIST_CLIENT = THERAPIST_ASSIGNMENTS.format(client="AND a.client_id = ?")

ADD_DONE = """
INSERT INTO homework_done (user_id, assignment_id, module, done_at)
SELECT ?, id, ?, ? FROM assignments WHERE id = ? AND client_id = ? AND status = 'accepted'
RETURNING id"""
# Module ids are identifiers, so their JSON form ("daily_checkin", quotes included) is
# found in the modules list by LIKE in both dialects.
ADD_DONE_FOR_MODULE = """
INSERT INTO homework_done (user_id, assignment_id, module, done_at)
SELECT ?, id, ?, ? FROM assignments WHERE client_id = ? AND status = 'accepted'
  AND modules LIKE ?
RETURNING assignment_id"""
DONE_OF_ASSIGNMENTS = "SELECT * FROM homework_done WHERE assignment_id = ? ORDER BY id"

ADD_REMINDER = """
INSERT INTO reminders (user_id, assignment_id, schedule, quiet, due_at, created_at)
VALUES (?, ?, ?, ?, ?, ?) RETURNING *"""
REMINDERS_OF_USER = "SELECT * FROM reminders WHERE user_id = ? ORDER BY due_at, id"
REMINDER_DUE = "SELECT * FROM reminders WHERE id = ? AND user_id = ? AND due_at <= ?"
COUNT_DUE_REMINDERS = ("SELECT COUNT(*) AS n FROM reminders WHERE due_at <= ?"
                       " AND (claimed_until IS NULL OR claimed_until <= ?)")
MOVE_REMINDER = "UPDATE reminders SET due_at = ?, claimed_until = NULL WHERE id = ?"
DELETE_REMINDER = "DELETE FROM reminders WHERE id = ? AND user_id = ? RETURNING id"
STOP_ALL_REMINDERS = "DELETE FROM reminders WHERE user_id = ? RETURNING id"
STOP_REMINDERS_OF = "DELETE FROM reminders WHERE user_id = ? AND assignment_id = ? RETURNING id"
# A lease, not a delete: a replica that dies after claiming leaves the row to be claimed
# again when the lease runs out.  The outer condition is re-checked by PostgreSQL on rows
# another replica claimed meanwhile, so two replicas never both get one row.
CLAIM_REMINDERS = """
UPDATE reminders SET claimed_until = ?
WHERE id IN (SELECT id FROM reminders WHERE due_at <= ?
             AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY due_at, id LIMIT ?)
  AND (claimed_until IS NULL OR claimed_until <= ?)
RETURNING *"""

#: Erasing a person: what hangs off their assignments (as therapist or client) goes too.
ERASE = (
    "DELETE FROM reminders WHERE assignment_id IN"
    " (SELECT id FROM assignments WHERE user_id = ? OR client_id = ?) RETURNING id",
    "DELETE FROM homework_done WHERE assignment_id IN"
    " (SELECT id FROM assignments WHERE user_id = ? OR client_id = ?) RETURNING id",
    "DELETE FROM links WHERE assignment_id IN"
    " (SELECT id FROM assignments WHERE client_id = ?) RETURNING token_hash",
    "DELETE FROM assignments WHERE client_id = ? RETURNING id",
)
