"""User-facing errors.

A :class:`ConfigError` is raised for bad user input (a config value, a data file). Its message is
one line that names the key, the bad value and what is allowed; the CLI prints it without a
traceback.
"""


class ConfigError(ValueError):
    """Bad user input: names the key, the bad value and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key}={value!r} is invalid: {allowed}")


def check(condition: bool, key: str, value: object, allowed: str) -> None:
    """Raise :class:`ConfigError` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(key, value, allowed)
