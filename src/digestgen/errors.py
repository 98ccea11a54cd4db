"""The one exception type that reaches the user as a plain one-line message."""


class Superseded(Exception):
    """A build given up because its inputs changed again (serve's background work); nothing was written."""


MAX_SHOWN_PROBLEMS = 20


class DigestgenError(Exception):
    """A problem the user can fix; its message is printed as is, without a traceback.

    `problems` (`file:line: message` lines) follow the message one per line, sorted by file and
    line, the first MAX_SHOWN_PROBLEMS of them and then how many more.
    """

    def __init__(self, message: str, *, path: object = None, line: int | None = None, problems: tuple[str, ...] = ()):
        self.path = path
        self.line = line
        self.problems = tuple(sorted(problems, key=_by_place))
        super().__init__(message)

    def __str__(self) -> str:
        message = super().__str__()
        if self.path is not None:
            where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
            message = f"{where}: {message}"
        shown = list(self.problems[:MAX_SHOWN_PROBLEMS])
        if len(self.problems) > MAX_SHOWN_PROBLEMS:
            shown.append(f"and {len(self.problems) - MAX_SHOWN_PROBLEMS} more")
        return "\n".join(_one_line(part) for part in [message, *shown])


_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def _one_line(text: str) -> str:
    """A problem stays one line however odd the text it quotes (a value with a line separator, say)."""
    return text.translate(_LINE_BREAKS)


def _by_place(problem: str) -> tuple[str, int, str]:
    """'content/a.md:12: …' sorts by file, then by line as a number."""
    path, _, rest = problem.partition(":")
    line, _, _ = rest.partition(":")
    return (path, int(line) if line.isdigit() else 0, problem)
