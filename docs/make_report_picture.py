"""Draw docs/images/therapist-report.png: a /report as a therapist sees it (sample data).

Run from the repository root: `python docs/make_report_picture.py`. The text and chart
come from the bot's own code (bot.homework.report, bot.homework.charts), so the picture
shows what the bot really sends; only the client and their check-ins are made up.
"""

from __future__ import annotations

import io
import textwrap
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg
from matplotlib.figure import Figure

from bot.homework import Schedule
from bot.homework.charts import chart_png
from bot.homework.report import AssignmentLine, report_text
from bot.homework.sharing import Shared
from bot.tg.homework_views import series

OUT = Path(__file__).parent / "images" / "therapist-report.png"
TITLES = {"daily_checkin": "Daily check-in", "balance_checkin": "Balance check-in",
          "journal": "Journal"}


def main() -> None:
    t0 = datetime(2026, 3, 2, 19, 10, tzinfo=UTC)
    moods = [5, 4, 6, 3, 5, 7, 6, 7, 8, 6, 7, 8]
    shared = [Shared("daily_checkin", {"mood": m}, t0 + timedelta(days=i))
              for i, m in enumerate(moods)]
    shared += [
        Shared("balance_checkin", {"over_giving": 17, "self_reliance": 9}, t0 - timedelta(hours=1)),
        Shared("balance_checkin", {"over_giving": 12, "self_reliance": 10},
               t0 + timedelta(days=11, hours=1)),
        Shared("journal", {"situation": "Sunday lunch: said I would leave at four, and did."},
               t0 + timedelta(days=9)),
    ]
    shared.sort(key=lambda r: r.created_at)
    madrid = "Europe/Madrid"
    lines = [
        AssignmentLine(["daily_checkin"], Schedule("daily", time(20), date(2026, 3, 2), madrid, 14),
                       [t0 + timedelta(days=i) for i in range(12)]),
        AssignmentLine(["balance_checkin"],
                       Schedule("weekdays", time(18), date(2026, 3, 2), madrid, 14,
                                frozenset({0, 2, 4})),
                       [t0 - timedelta(hours=1), t0 + timedelta(days=11, hours=1)]),
    ]
    text = report_text(7012345, t0 - timedelta(hours=2), lines, shared, "en",
                       lambda m: TITLES.get(m, m))
    image = mpimg.imread(io.BytesIO(chart_png(*series(shared), "en", about_client=True)),
                         format="png")
    fig = Figure(figsize=(13, 8.2), dpi=110)
    left = fig.add_axes((0.01, 0.02, 0.47, 0.92))
    left.axis("off")
    wrapped: list[str] = []
    for paragraph in text.splitlines():
        wrapped += textwrap.wrap(paragraph, 62) or [""]
    left.text(0.02, 1.0, "\n".join(wrapped), va="top", fontsize=11.5, linespacing=1.55)
    fig.text(0.015, 0.965, "/report 7012345", fontsize=13, color="#3b6ea8")
    right = fig.add_axes((0.5, 0.01, 0.49, 0.98))
    right.imshow(image)
    right.axis("off")
    fig.savefig(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
