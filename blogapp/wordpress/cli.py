"""flask import-wxr FILE [--dry-run]: a WordPress export in, with progress and a summary."""

from __future__ import annotations

import os
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from .importer import Report, import_wxr
from .wxr import WXRError

OUTCOMES = ("imported", "updated", "unchanged", "matched", "skipped")
MAX_WARNINGS = 50


@click.command("import-wxr")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Read and check everything; write nothing.")
@with_appcontext
def import_wxr_command(file: str, dry_run: bool):
    """Import a WordPress export (Tools > Export): posts, pages, authors, comments."""
    size = os.path.getsize(file)
    with (
        open(file, "rb") as handle,
        click.progressbar(length=size, label="Importing", file=sys.stderr) as bar,
    ):
        done = 0

        def progress(position: int) -> None:
            nonlocal done
            bar.update(position - done)
            done = position

        try:
            report = import_wxr(handle, dry_run=dry_run, progress=progress)
        except WXRError as error:
            raise click.ClickException(f"{error} Nothing was imported.") from None
        except SQLAlchemyError as error:
            reason = str(error.orig if hasattr(error, "orig") else error).splitlines()[0]
            raise click.ClickException(
                f"The database refused the import ({reason}). Nothing was imported."
            ) from None
        bar.update(size - done)
    click.echo(summary(report))


def summary(report: Report) -> str:
    """The counts as an aligned table, then the warnings."""
    header = ("kind", *OUTCOMES)
    rows = [header] + [
        (kind, *(str(counts[o]) if counts[o] else "-" for o in OUTCOMES))
        for kind, counts in sorted(report.counts.items())
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if report.warnings:
        lines.append(f"\nWarnings ({len(report.warnings)}):")
        lines += [f"  - {w}" for w in report.warnings[:MAX_WARNINGS]]
        if len(report.warnings) > MAX_WARNINGS:
            lines.append(f"  ... and {len(report.warnings) - MAX_WARNINGS} more.")
    lines.append("\nDry run: nothing was written." if report.dry_run else "\nImport committed.")
    return "\n".join(lines)
