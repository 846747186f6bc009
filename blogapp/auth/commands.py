"""The purge-sessions command: ended and expired session records don't stay forever."""

import click
from flask.cli import with_appcontext


@click.command("purge-sessions")
@with_appcontext
def purge_sessions_command():
    """Remove session records that ended or expired more than 90 days ago."""
    from .sessions import KEEP_ENDED, purge

    removed = purge()
    plural = "" if removed == 1 else "s"
    days = KEEP_ENDED.days
    click.echo(f"Removed {removed} session record{plural} ended over {days} days ago.")
