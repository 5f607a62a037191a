# One image for every Kopilka service (api, worker, relay, beat, bot, migrate); the compose file
# picks the command. Build stages first (the Mini App's bundle, built by Node); the runtime stage
# copies only their output (COPY --from), so another stage is one more block and one COPY.
FROM node:20-slim AS miniapp
WORKDIR /build/services/api/miniapp
COPY services/api/miniapp/package.json services/api/miniapp/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY services/api/miniapp/ ./
COPY shared/src/kopilka/i18n/catalogues/ /build/shared/src/kopilka/i18n/catalogues/
RUN npm run check && npm run build

FROM python:3.11-slim AS runtime
ENV UV_PYTHON_DOWNLOADS=never UV_PYTHON_PREFERENCE=only-system PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:$PATH" \
    KOPILKA_HOST=0.0.0.0 KOPILKA_PORT=8000 KOPILKA_RUN_DIR=/tmp/kopilka
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv
WORKDIR /app
# dependencies first (a layer that changes only with the lock), then the code
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/api/pyproject.toml services/api/pyproject.toml
COPY services/worker/pyproject.toml services/worker/pyproject.toml
COPY services/bot/pyproject.toml services/bot/pyproject.toml
RUN uv sync --frozen --all-packages --no-dev --no-install-workspace
COPY shared shared
COPY services services
COPY --from=miniapp /build/services/api/src/kopilka_api/static/app services/api/src/kopilka_api/static/app
RUN uv sync --frozen --all-packages --no-dev
COPY scripts scripts
# never root at run time
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin kopilka \
    && mkdir -p /tmp/kopilka && chown kopilka /tmp/kopilka
USER kopilka
EXPOSE 8000
# KOPILKA_API_WORKERS processes (default 2) on KOPILKA_HOST:KOPILKA_PORT
CMD ["python", "-m", "kopilka_api"]
