import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

application = get_asgi_application()

from usmp.startup import refuse_to_start_without_secrets  # noqa: E402

refuse_to_start_without_secrets()
