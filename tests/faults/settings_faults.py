"""The test settings, with the keyring taken from FAULTS_KEYRING when set (the rotation test
adds a master key) and the database from DATABASE_URL (the fault tests' own cluster)."""

import os

from usmp.settings_test import *  # noqa: F403

USMP_KEYRING = os.environ.get("FAULTS_KEYRING") or USMP_KEYRING  # noqa: F405
# The writers' step-in is off in the suite (its sequencer runs in the live server); the fault
# test of a gunicorn worker killed mid-pass turns it on, as a unit with no sequencer runs.
USMP_AUDIT_WRITER_STEP_IN = os.environ.get("FAULTS_STEP_IN") or USMP_AUDIT_WRITER_STEP_IN  # noqa: F405
