"""One exception root for cxid, with specific children callers can catch."""

from __future__ import annotations


class CxidError(Exception):
    """Root of every error cxid raises on purpose."""


class ConfigError(CxidError):
    """The configuration is invalid. Lists every problem found, not just the first."""

    def __init__(self, problems: list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(
            "invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems)
        )


class IngestError(CxidError):
    """A source cannot be read at all (missing file, undecodable, wrong format).

    Record-level problems never raise: they go to the ``rejected`` frame.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ):
        self.source = source
        self.file = file
        self.line = line
        where = ", ".join(
            part
            for part in (
                f"source {source!r}" if source else "",
                f"file {file}" if file else "",
                f"line {line}" if line is not None else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class NotFittedError(CxidError, ValueError):
    """A model was used before ``fit`` was called."""


class SchemaError(CxidError):
    """A frame passed between stages lacks the columns its contract requires."""
