# syntax=docker/dockerfile:1.7
# One image for every Koepon process: a service, the gateway (which also serves the web pages and
# Socket.IO), a worker or the migration job, chosen by the arguments (docs/DEPLOY.md):
#   docker run koepon serve --service gacha --host 0.0.0.0 --port 8000
#   docker run koepon worker --service gacha
#   docker run koepon migrate

# --- web assets: the stylesheet and vendored scripts, from package-lock.json (docs/WEB.md) ---
FROM node:20-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json tailwind.config.js ./
COPY scripts/build-web-assets scripts/build-web-assets
# Tailwind reads the templates to keep only the classes they use.
COPY src/koepon/web src/koepon/web
RUN bash scripts/build-web-assets

# --- Python dependencies: exactly the locked versions, no dev tools ---
# (uv: the version that wrote uv.lock)
FROM python:3.11-slim-bookworm AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first: this layer is reused until the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY src src
COPY --from=web /app/src/koepon/web/static/build src/koepon/web/static/build
# The project itself is installed editable: the built assets are ignored by git (and so by the
# wheel), while the package read from /app/src serves them.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# --- runtime: slim Python, ffmpeg for previews, no compilers, not root ---
FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 koepon \
    && useradd --system --uid 10001 --gid koepon --home-dir /app --shell /usr/sbin/nologin koepon \
    && mkdir -p /var/lib/koepon && chown koepon:koepon /var/lib/koepon
WORKDIR /app
COPY --from=builder --chown=root:root /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KOEPON_DATA_DIR=/var/lib/koepon \
    KOEPON_LOG_FORMAT=json \
    KOEPON_HEALTH_PORT=8000
USER 10001:10001
EXPOSE 8000
# Serving processes answer /healthz; workers and the migration job serve nothing, so compose and
# Kubernetes turn this check off for them (KOEPON_HEALTH_PORT follows a non-default --port).
HEALTHCHECK --interval=15s --timeout=4s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('KOEPON_HEALTH_PORT', '8000') + '/healthz', timeout=3)"]
ENTRYPOINT ["koepon"]
CMD ["serve", "--service", "gateway", "--host", "0.0.0.0", "--port", "8000"]
