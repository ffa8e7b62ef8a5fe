"""The config model of ccm: schema, loading and validation, saving, secrets, paths, provider catalog.

This package imports nothing else of ccm, and nothing heavy at import time.
"""

from config.errors import CcmError, ConfigError, Problem, RoutingError, SecretError

__all__ = ["CcmError", "ConfigError", "Problem", "RoutingError", "SecretError"]
