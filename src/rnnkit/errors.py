"""Errors a user can fix. The CLI prints them as one line, without a traceback."""


class RnnkitError(Exception):
    """An error in what the user asked for (an argument, a file, a setting), with what to do.

    Its text is one printable line: a newline, control character or lone surrogate that came
    with the user's input (a value, a key, a file name) is shown escaped, as in "\\n"."""

    def __str__(self) -> str:
        text = super().__str__()
        if text.isprintable():
            return text
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                       for c in text)


class ConfigError(RnnkitError, ValueError):
    """A configuration value is unknown, of the wrong type, or out of range."""


class DataError(RnnkitError, ValueError):
    """An input file or array cannot be used: names the file, line or field and what is wrong."""
