"""WSGI entry point. In production, refuses to start when secrets or the keyring are missing,
then readies the worker (views imported, templates compiled) before its first request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

application = get_wsgi_application()

from usmp.startup import refuse_to_start_without_secrets, warm  # noqa: E402

refuse_to_start_without_secrets()
warm()
