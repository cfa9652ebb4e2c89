"""The prison administration's narrow bridge: movement slots only (issue: the bridge).

It may import ``appointments.movements`` and nothing else of the clinical side; the
import-linter contracts in pyproject.toml enforce it.
"""
