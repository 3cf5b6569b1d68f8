# relbot: multi-stage build, runs as a non-root user.
#   docker build -t relbot .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v relbot-data:/data relbot
# The wheel carries the shipped dialogues; mount your own and set DIALOGUES_DIR to use others.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE requirements.lock ./
COPY bot ./bot
COPY dialogues ./dialogues
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c requirements.lock .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/relbot.sqlite3 \
    HEALTH_PORT=8081
RUN useradd --create-home --uid 10001 relbot && mkdir -p /data && chown relbot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER relbot
WORKDIR /home/relbot
VOLUME ["/data"]
# 8080: webhook mode's server; 8081: /healthz in either mode (HEALTH_PORT)
EXPOSE 8080 8081
# validate at build time too: a broken dialogue never ships
RUN relbot validate
# The slim image has no curl: ask /healthz with the standard library; its JSON (with the
# reason when it is not 200) lands in `docker inspect`'s health log.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
  CMD python -c "import http.client as h, os, sys; c = h.HTTPConnection('127.0.0.1', int(os.environ.get('HEALTH_PORT') or 8081), timeout=8); c.request('GET', '/healthz'); r = c.getresponse(); print(r.read().decode()); sys.exit(r.status != 200)"
CMD ["relbot", "run"]
