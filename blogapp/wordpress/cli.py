"""flask import-wxr FILE [--media DIR] [--report FILE] [--dry-run]: a WordPress site moves in."""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures.process import BrokenProcessPool

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from .importer import Report, import_wxr
from .wxr import WXRError

OUTCOMES = ("imported", "updated", "unchanged", "matched", "skipped")
MAX_LINES = 50  # per list in the summary; --report has them all


@click.command("import-wxr")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--media",
    "media_dir",
    type=click.Path(exists=True, file_okay=False, readable=True),
    help="A copy of the old site's wp-content/uploads: its images come across.",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write everything the import did as JSON to this file.",
)
@click.option("--workers", type=click.IntRange(0, 16), help="Worker processes (default: auto).")
@click.option("--dry-run", is_flag=True, help="Read and check everything; write nothing.")
@with_appcontext
def import_wxr_command(file, media_dir, report_file, workers, dry_run):
    """Import a WordPress export (Tools > Export): posts, pages, authors, comments, media."""
    size = os.path.getsize(file)
    with (
        open(file, "rb") as handle,
        click.progressbar(length=2 * size, label="Importing", file=sys.stderr) as bar,
    ):
        done = 0

        def progress(position: int) -> None:
            nonlocal done
            bar.update(position - done)
            done = position

        try:
            report = import_wxr(
                handle,
                dry_run=dry_run,
                progress=progress,
                media_dir=media_dir,
                upload_dir=current_app.config["UPLOAD_DIR"],
                max_upload_bytes=current_app.config["UPLOAD_MAX_BYTES"],
                workers=workers,
            )
        except WXRError as error:
            raise click.ClickException(f"{error} Nothing was imported.") from None
        except BrokenProcessPool:
            raise click.ClickException(
                "A rendering worker process stopped (out of memory?). Nothing was imported; "
                "try again with --workers 0."
            ) from None
        except SQLAlchemyError as error:
            reason = str(error.orig if hasattr(error, "orig") else error).splitlines()[0]
            raise click.ClickException(
                f"The database refused the import ({reason}). Nothing was imported."
            ) from None
        bar.update(2 * size - done)
    if report_file:
        with open(report_file, "w", encoding="utf-8") as out:
            json.dump(report.as_json(), out, indent=2, ensure_ascii=False)
    click.echo(summary(report))
    if report_file:
        click.echo(f"The full report is in {report_file}.")


def summary(report: Report) -> str:
    """The counts as an aligned table, why things were skipped, then the lists to act on."""
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
    if report.reasons:
        lines.append("\nSkipped, and why:")
        for kind, reasons in sorted(report.reasons.items()):
            lines += [f"  - {kind}: {n} {reason}" for reason, n in sorted(reasons.items())]
    _section(lines, "Old addresses that now redirect", [
        f"{r['from']} -> {r['to']}" for r in report.redirects
    ])  # fmt: skip
    _section(lines, "Media files missing from the folder", report.missing_media)
    _section(lines, "Images without alt text (add it)", [
        f"{m['post']}: {m['image']}" + (" (cover)" if m.get("as") == "cover" else "")
        for m in report.missing_alt
    ])  # fmt: skip
    _section(lines, "Posts the sanitizer changed", [
        f"{s['post']}: removed " + ", ".join(f"{k} x{v}" for k, v in s["removed"].items())
        for s in report.sanitized
    ])  # fmt: skip
    _section(lines, "Warnings", report.warnings)
    lines.append("\nDry run: nothing was written." if report.dry_run else "\nImport committed.")
    return "\n".join(lines)


def _section(lines: list[str], title: str, entries: list[str]) -> None:
    if not entries:
        return
    lines.append(f"\n{title} ({len(entries)}):")
    lines += [f"  - {entry}" for entry in entries[:MAX_LINES]]
    if len(entries) > MAX_LINES:
        lines.append(f"  ... and {len(entries) - MAX_LINES} more.")
