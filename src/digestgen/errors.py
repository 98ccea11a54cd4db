"""The one exception type that reaches the user as a plain one-line message."""


class Superseded(Exception):
    """A build given up because its inputs changed again (serve's background work); nothing was written."""


class DigestgenError(Exception):
    """A problem the user can fix; its message is printed as is, without a traceback."""

    def __init__(self, message: str, *, path: object = None, line: int | None = None):
        self.path = path
        self.line = line
        super().__init__(message)

    def __str__(self) -> str:
        message = super().__str__()
        if self.path is None:
            return message
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {message}"
