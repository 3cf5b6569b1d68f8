"""The therapist's report text and the charts: what they say, in both languages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.homework import Schedule
from bot.homework.charts import chart_png, report_pdf
from bot.homework.report import AssignmentLine, report_text
from bot.homework.sharing import Shared

T0 = datetime(2026, 3, 2, 20, tzinfo=UTC)
SCHEDULE = Schedule("daily", time(20), date(2026, 3, 2), "Europe/Madrid", 7)
SHARED = [
    Shared("daily_checkin", {"mood": 4, "note": "argued with mum"}, T0),
    Shared("daily_checkin", {"mood": 6}, T0 + timedelta(days=1)),
    Shared("balance_checkin", {"over_giving": 15, "self_reliance": 8}, T0 + timedelta(days=2)),
]


def title(module: str) -> str:
    return {"daily_checkin": "Daily check-in"}.get(module, module)


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Report for client 42", "done 2 of 7, last on 2026-03-03",
            "Check-in moods (0-10): 02/03 4, 03/03 6", "Balance check-ins",
            "04/03 sometimes / sometimes",
            "Shared in their own words:", "argued with mum"]),
    ("es", ["Informe del cliente 42", "hecho 2 de 7, la última vez el 03/03/2026",
            "Ánimo en los registros (0-10): 02/03 4, 03/03 6", "(cada día durante 7 días)",
            "desde el 02/03/2026"]),
])
def test_the_report_says_completion_ratings_and_shared_words(
        language: str, words: list[str]) -> None:
    line = AssignmentLine(["daily_checkin"], SCHEDULE, [T0, T0 + timedelta(days=1)])
    text = report_text(42, T0, [line], SHARED, language, title)
    for word in words:
        assert word in text, (word, text)


def test_without_ratings_the_report_says_so() -> None:
    text = report_text(42, T0, [AssignmentLine(["daily_checkin"], SCHEDULE, [])], [], "en",
                       title)
    assert "done 0 of 7" in text and "No check-in ratings yet." in text
    assert "own words" not in text


def test_charts_and_pdf_are_made() -> None:
    moods = [(T0, 4.0), (T0 + timedelta(days=1), 6.0)]
    png = chart_png(moods, [(T0, 15.0)], [(T0, 8.0)], "es")
    assert png.startswith(b"\x89PNG")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert height > width >= 800  # portrait, for a phone
    def pages(pdf: bytes) -> int:
        return len(re.findall(rb"/Type /Page\b(?!s)", pdf))

    short = report_pdf("Report for client 42", moods, [], [], "en")
    long = report_pdf("Report for client 42\n\n" + "line\n" * 120, moods, [], [], "en")
    assert short.startswith(b"%PDF") and pages(short) == 2  # the text, then the chart
    assert pages(long) == 4  # 50 lines a page
