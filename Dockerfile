# Production image for migrator's web, worker and sandbox services (see docker-compose.yml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 MIGRATOR_DATA_DIR=/data
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 migrator && mkdir -p /data && chown migrator /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY migrator ./migrator
RUN pip install .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings to load; these throwaway values never reach a running container.
RUN DEBUG=false SECRET_KEY=build-only MIGRATOR_ENCRYPTION_KEY=build-only MIGRATOR_DATA_DIR=/tmp/build \
    python manage.py collectstatic --noinput
USER migrator
EXPOSE 8000
CMD ["gunicorn", "migrator.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
