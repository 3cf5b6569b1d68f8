# relbot: multi-stage build, runs as a non-root user.
#   docker build -t relbot .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v relbot-data:/data relbot
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c requirements.lock .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DIALOGUES_DIR=/app/dialogues \
    DATABASE_URL=sqlite:////data/relbot.sqlite3
RUN useradd --create-home --uid 10001 relbot && mkdir -p /data /app && chown relbot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY dialogues /app/dialogues
USER relbot
WORKDIR /app
VOLUME ["/data"]
EXPOSE 8080
# validate at build time too: a broken dialogue never ships
RUN relbot validate /app/dialogues
CMD ["relbot", "run"]
