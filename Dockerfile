# The library service: Django + DRF served by gunicorn.
#
# BASE_IMAGE: an official slim Python image by default; any Debian-based image
# with python3 (and its venv module) on PATH works too, e.g. one made from
# Debian packages by scripts/build-debian-images.sh for hosts without a registry.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with the pinned dependencies, in its own layer ----
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
# requirements.lock: requirements.txt resolved with hashes (pip-compile), so a
# tampered or substituted package fails the build.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --no-compile --require-hashes --no-deps -r /tmp/requirements.lock \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# ---- runtime: the virtualenv, the code and collected static files ----
FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app/ /app/
# Placeholders only let collectstatic import the settings; the running
# container gets its real secret and database from its environment.
RUN DJANGO_SECRET_KEY=collectstatic-placeholder DATABASE_URL=postgres://unused@127.0.0.1/unused \
    python manage.py collectstatic --noinput --verbosity 0 \
 && python -m compileall -q /app
USER 10001:10001
EXPOSE 8000
# The same probe and timings as the Pulumi program's health check of the API
# replicas (infra/api.py; a unit test keeps the two equal).
HEALTHCHECK --interval=5s --timeout=5s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
STOPSIGNAL SIGTERM
# Last, so that they never invalidate the layers above: which project and
# stack the image belongs to (the Pulumi program passes them).
ARG LIBRARY_PROJECT=library
ARG LIBRARY_STACK=
LABEL org.library.project=$LIBRARY_PROJECT org.library.stack=$LIBRARY_STACK org.library.component=api
CMD ["gunicorn", "--config", "gunicorn.conf.py", "config.wsgi"]
