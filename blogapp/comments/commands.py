"""The purge-comments command: held and spam comments don't stay forever."""

import click
from flask.cli import with_appcontext


@click.command("purge-comments")
@click.option("--days", default=30, show_default=True, help="Remove those older than this.")
@with_appcontext
def purge_comments_command(days: int):
    """Remove held (pending) and spam comments older than 30 days."""
    from .services import purge_old

    removed = purge_old(days)
    plural = "" if removed == 1 else "s"
    click.echo(f"Removed {removed} held or spam comment{plural} older than {days} days.")
