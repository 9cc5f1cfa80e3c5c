# One image for web and workers. Build: docker build -t rudolfv .
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DATA_ROOT=/data STATIC_ROOT=/app/static FRONTEND_DIST=/app/frontend/dist
RUN useradd --create-home --uid 1000 rudolfv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY webapp/ webapp/
COPY curation/ curation/
COPY trainer/ trainer/
COPY manage.py ./
ARG EXTRAS=cpu
RUN pip install --no-cache-dir ".[${EXTRAS}]"
COPY --from=frontend /src/frontend/dist /app/frontend/dist
# collectstatic needs settings to import: a throwaway key, never used at run time.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput
RUN mkdir -p /data && chown rudolfv /data
USER rudolfv
EXPOSE 8000
CMD ["gunicorn", "webapp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "8"]
