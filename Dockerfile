# relbot: multi-stage build; the final image has no build tools and runs as a numeric
# non-root user. Configured only by the environment (see .env.example and README.md,
# "Deployment"); the shipped dialogues are baked in (mount your own and set DIALOGUES_DIR
# to use others).
#   docker build -t relbot .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v relbot-data:/data relbot
# hadolint-clean (.ci/run lints it); tests/e2e/test_deploy.py runs the commands below.

# The base is pinned by exact tag: a rebuild gets the same Python until this line changes.
FROM python:3.11.14-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE requirements.lock ./
COPY bot ./bot
COPY dialogues ./dialogues
# Every wheel, relbot's and its dependencies', at the versions in requirements.lock.
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c requirements.lock .

FROM python:3.11.14-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/relbot.sqlite3 \
    HEALTH_PORT=8081
COPY --from=build /wheels /wheels
# Only the wheels built above (--no-index): nothing is resolved again at this stage.
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels \
    && groupadd --gid 10001 relbot \
    && useradd --uid 10001 --gid 10001 --create-home relbot \
    && mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
WORKDIR /home/relbot
VOLUME ["/data"]
# 8080: webhook mode's server (and /metrics there); 8081: /healthz and /metrics (HEALTH_PORT)
EXPOSE 8080 8081
# validate at build time too: a broken dialogue never ships
RUN ["relbot", "validate"]
# The slim image has no curl: ask /healthz with the standard library; its JSON (with the
# reason when it is not 200) lands in `docker inspect`'s health log.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import http.client as h, os, sys; c = h.HTTPConnection('127.0.0.1', int(os.environ.get('HEALTH_PORT') or 8081), timeout=8); c.request('GET', '/healthz'); r = c.getresponse(); print(r.read().decode()); sys.exit(r.status != 200)"]
CMD ["relbot", "run"]
