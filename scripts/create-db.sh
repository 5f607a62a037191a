#!/usr/bin/env bash
# Create the database named in DATABASE_URL when it does not exist. Runs on the project's venv
# through uv by its full path (UV, passed by the Makefile; ~/.local/bin/uv by default), so it
# works when ~/.local/bin is not on PATH.
set -eu
url="${1:-$DATABASE_URL}"
uv="${UV:-$HOME/.local/bin/uv}"
[ -x "$uv" ] || uv="$(command -v uv || true)"
[ -n "$uv" ] || { echo "uv not found (set UV=/path/to/uv, or run make install)" >&2; exit 127; }
cd "$(dirname "$0")/.."
exec "$uv" run --frozen python - "$url" <<'PY'
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as c:
    if not c.scalar(text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": url.database}):
        c.execute(text(f'CREATE DATABASE "{url.database}"'))
        print(f"created database {url.database}")
PY
