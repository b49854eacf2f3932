"""What an import did: counts and the bad rows, line by line."""

from collections.abc import Callable
from dataclasses import dataclass, field

from credits.importing import messages

# Errors kept in memory (and in an ImportJob); every one is still streamed to `on_error`.
MAX_ERRORS_KEPT = 1000

ErrorSink = Callable[[str], None]
Progress = Callable[[str, int, int], None]  # (stage, rows done, rows in all or 0)


@dataclass
class ImportReport:
    rows_read: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    committed: bool = False
    on_error: ErrorSink | None = field(default=None, repr=False, compare=False)

    def reject(self, line: int, column: str, reason: str) -> None:
        """Count one bad row and report it as `line N: column: reason`."""
        self.rejected += 1
        message = messages.line(line, column, reason)
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)
        elif len(self.errors) == MAX_ERRORS_KEPT:
            self.errors.append(messages.more_errors())
        if self.on_error is not None:
            self.on_error(message)

    def sort_errors(self) -> None:
        """By line: pass 1 finds event rows' errors before pass 2 finds activities'."""
        self.errors.sort(key=_line_of)

    def summary(self) -> str:
        text = (
            f"rows read: {self.rows_read}, applied: {self.applied}, "
            f"duplicates: {self.duplicates}, rejected: {self.rejected}"
        )
        return text if self.committed else text + " — nothing imported"


def _line_of(error: str) -> int:
    """The N of `line N: …`, in any language (`riga N: …`)."""
    number = error.split(":", 1)[0].rpartition(" ")[2]
    return int(number) if number.isdigit() else 1 << 62
