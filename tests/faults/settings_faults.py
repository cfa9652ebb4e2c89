"""The test settings, with the keyring taken from FAULTS_KEYRING when set (the rotation test
adds a master key) and the database from DATABASE_URL (the fault tests' own cluster)."""

import os

from usmp.settings_test import *  # noqa: F403

USMP_KEYRING = os.environ.get("FAULTS_KEYRING") or USMP_KEYRING  # noqa: F405
