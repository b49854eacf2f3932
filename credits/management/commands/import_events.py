"""`import_events FILE [--skip-invalid]` (SPEC §4)."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations
from tqdm import tqdm

from credits.importing import events_import

# Below this many rows a progress bar is noise.
PROGRESS_FROM_ROWS = 100_000


class Command(BaseCommand):
    help = "Import an events CSV: access changes, MRR changes, deals and activities."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="UTF-8 CSV with a header row (SPEC §4)")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows and list the others, instead of importing nothing.",
        )

    @no_translations  # the SPEC §4 report is English: `line N: column: reason`
    def handle(self, *args: object, file: str, skip_invalid: bool, **options: object) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        bar = _Progress(self.stderr)
        try:
            report = events_import(
                path_or_file=path,
                skip_invalid=skip_invalid,
                progress=bar,
                on_error=self.stderr.write,
            )
        finally:
            bar.close()
        self.stdout.write(report.summary())
        if not report.committed:
            raise CommandError(
                f"{file}: {report.rejected} invalid row(s) listed above; nothing was imported"
                + ("" if skip_invalid else " (use --skip-invalid to import the valid rows)")
            )


class _Progress:
    """A tqdm bar on a terminal; on a pipe, a line every million rows."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.bar: tqdm | None = None
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
        if sys.stderr.isatty():
            if self.bar is None:
                self.bar = tqdm(total=total or None, desc=stage, unit=" rows", file=sys.stderr)
            self.bar.update(done - self.bar.n)
        elif max(done, total) >= PROGRESS_FROM_ROWS and done % 1_000_000 == 0:
            self.stream.write(f"{stage}: {done:,}" + (f" of {total:,} rows" if total else " rows"))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
