"""What the tests share besides fixtures: helpers, reference implementations, emulators' glue, and the test
tree's paths (``support.paths``). Imported as ``support.<module>`` (pyproject.toml puts tests/ on the path);
fixtures live in tests/conftest.py and in the plugins it lists in ``pytest_plugins``."""
