"""Errors raised on bad input: each names the file (or config key) and the problem."""


class EcgflowError(ValueError):
    """Base class of the errors ecgflow raises on bad input or bad configuration."""


class InputError(EcgflowError):
    """A data file that cannot be used as it is."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(EcgflowError):
    """A configuration value that cannot be used."""

    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        super().__init__(f"config key '{key}': {problem}")
