# Production image for migrator's web, worker and sandbox services (see docker-compose.yml).
# It installs exactly what uv.lock pins (the versions CI tested), never a fresh resolution.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 MIGRATOR_DATA_DIR=/data \
    UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH PYTHONPATH=/app
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 migrator && mkdir -p /data && chown migrator /data
# uv at the Makefile's pinned version, bootstrapped with this Python's pip (as `make install` does).
RUN pip install "uv==0.13.8"
WORKDIR /app
# Dependencies first (a layer that changes only with the lock): runtime packages only, no dev extra.
# migrator itself runs from /app (PYTHONPATH): uv installs its dependencies only (pyproject: tool.uv.package).
# --locked refuses a lock that no longer matches pyproject.toml instead of resolving again.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-cache --python "$(command -v python3)" && rm -rf /root/.cache
COPY manage.py ./
COPY migrator ./migrator
COPY templates ./templates
COPY static ./static
COPY docs ./docs
# collectstatic needs settings to load; these throwaway values never reach a running container.
RUN DEBUG=false SECRET_KEY=build-only MIGRATOR_ENCRYPTION_KEY=build-only MIGRATOR_RECEIPT_KEY=build-only MIGRATOR_DATA_DIR=/tmp/build \
    python manage.py collectstatic --noinput
USER migrator
EXPOSE 8000
CMD ["gunicorn", "migrator.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
