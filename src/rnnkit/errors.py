"""Errors a user can fix. The CLI prints them as one line, without a traceback."""


class RnnkitError(Exception):
    """An error in what the user asked for (an argument, a file, a setting), with what to do."""


class ConfigError(RnnkitError, ValueError):
    """A configuration value is unknown, of the wrong type, or out of range."""


class DataError(RnnkitError, ValueError):
    """An input file or array cannot be used: names the file, line or field and what is wrong."""
