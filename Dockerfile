# Cloison: production image (see docker-compose.yml and docs/architecture.md).
#
# Secrets are never baked in: SECRET_KEY_FILE, USMP_KEYRING_FILE and the database password
# come from mounted secret files at run time. With DEBUG off, the WSGI entry point refuses to
# start without them (usmp/startup.py).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=usmp.settings \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# Runtime dependencies only: `pip install .` without the `dev` extra (no embedded PostgreSQL,
# test or lint tools). Only pyproject.toml is copied first, so that this layer is rebuilt only
# when the dependencies change. The (empty) distribution is then removed: the code runs from
# /app, where settings.BASE_DIR finds templates/, static/ and locale/; a copy installed in
# site-packages would look for them there.
# pg_dump and pg_restore of the database server's major version (16, docker-compose.yml) for
# `manage.py backup` and `restore_verify`: from the PostgreSQL project's own repository, as
# Debian 12 ships 15 only. Its signing key is pinned by fingerprint.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc \
      | gpg --dearmor -o /usr/share/keyrings/pgdg.gpg \
 && gpg --show-keys --with-colons /usr/share/keyrings/pgdg.gpg \
      | grep -q B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8 \
 && echo "deb [signed-by=/usr/share/keyrings/pgdg.gpg] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-16 \
 && apt-get purge -y --auto-remove curl gnupg \
 && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml ./
RUN pip install . \
 && pip uninstall --yes cloison \
 && rm -rf build ./*.egg-info

# The application, path by path: var/ (development keyring and database), .venv/, .git/ and
# secrets/ must never enter the image, with or without a .dockerignore. Every package of
# INSTALLED_APPS must be here and in compileall below (tests/core/test_image.py).
COPY manage.py ./
COPY scripts/compile_messages.py scripts/
COPY usmp usmp/
COPY dossiers dossiers/
COPY appointments appointments/
COPY bridge bridge/
COPY oversight oversight/
COPY disclosures disclosures/
COPY onboarding onboarding/
COPY certificates certificates/
COPY transfers transfers/
COPY operations operations/
COPY demo demo/
COPY templates templates/
COPY static static/
COPY locale locale/

# Translations and static files are built into the image. collectstatic runs only the
# `staticfiles` system checks, not the secrets check (tag `usmp_secrets`, usmp/checks.py), so
# it needs no SECRET_KEY or keyring here. Bytecode is compiled now: the root filesystem is
# read-only at run time.
RUN find . -name __pycache__ -prune -exec rm -rf {} + \
 && find locale -name '*.mo' -delete \
 && python scripts/compile_messages.py \
 && DEBUG=0 python manage.py collectstatic --noinput --verbosity 0 \
 && python -m compileall -q usmp dossiers appointments bridge oversight disclosures onboarding \
      certificates transfers operations demo \
 && chmod -R a+rX,go-w /app

# The application owns none of its files: it reads code, templates and static files only.
RUN groupadd --system --gid 10001 cloison \
 && useradd --system --uid 10001 --gid cloison --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin cloison
USER cloison:cloison

EXPOSE 8000

# /healthz answers only on a host in ALLOWED_HOSTS (Django's host check comes first): send the
# first one. It is exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT) and needs no login.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); h = h if h not in ('', '*') else 'localhost'; u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4)"]

# Access log: method, path and status only. The path carries patient UUIDs, never names; the
# query string and the Referer are left out because search forms put names there
# (GET /patients/?last_name=...). The control socket (gunicorn >= 25.1) is not needed.
CMD ["gunicorn", "usmp.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--workers", "3", \
     "--access-logfile", "-", \
     "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s %(H)s\" %(s)s %(B)s %(M)sms", \
     "--no-control-socket"]
