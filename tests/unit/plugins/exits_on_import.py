"""A plugin module that calls sys.exit when imported (tests/unit/plugins/test_registry.py)."""

import sys

sys.exit(2)
