# One image for every Kopilka service; the compose file picks the command.
# The Mini App is built by Node in its own stage; only its bundle (app.js, app.css) is copied over.
FROM node:20-slim AS miniapp
WORKDIR /build/services/api/miniapp
COPY services/api/miniapp/package.json services/api/miniapp/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY services/api/miniapp/ ./
RUN npm run check && npm run build

FROM python:3.11-slim
ENV UV_PYTHON_DOWNLOADS=never UV_PYTHON_PREFERENCE=only-system PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:$PATH"
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY shared shared
COPY services services
COPY --from=miniapp /build/services/api/src/kopilka_api/static/app services/api/src/kopilka_api/static/app
RUN uv sync --frozen --all-packages --no-dev
COPY scripts scripts
EXPOSE 8000
CMD ["uvicorn", "kopilka_api.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--no-access-log"]
