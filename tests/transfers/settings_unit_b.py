"""Settings of the second unit in the round-trip test: the test settings with the database
and the keyring of the environment (DATABASE_URL, USMP_KEYRING_FILE)."""

from usmp.settings import env_secret
from usmp.settings_test import *  # noqa: F403

USMP_KEYRING = env_secret("USMP_KEYRING")
USMP_UNIT_NAME = "USMP de Fictiveville"
