"""Makes `drsyncer_example_plugin` importable when the tests run from a source checkout."""
