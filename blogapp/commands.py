"""The flask commands: each feature's command lives beside it; this module registers them all."""

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from .auth.commands import purge_sessions_command
from .backup import backup_command, export_command, import_json_command, restore_command
from .comments.commands import purge_comments_command
from .extensions import db
from .posts.link_check import check_links_command
from .wordpress.cli import import_wxr_command


def init_app(app: Flask) -> None:
    """Every `flask --app blogapp ...` command, registered here and nowhere else."""
    for command in (
        seed_demo_command,
        create_user_command,
        purge_comments_command,
        purge_sessions_command,
        import_wxr_command,
        backup_command,
        restore_command,
        export_command,
        import_json_command,
        check_links_command,
        worker_command,
    ):
        app.cli.add_command(command)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Categories, a demo author and the seed article; safe to run twice."""
    from .demo import seed_demo, sign_in_instructions

    created = seed_demo()
    click.echo("Created: " + ", ".join(created) if created else "Demo content already present.")
    click.echo(sign_in_instructions())


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--username", required=True)
@click.option(
    "--role", type=click.Choice(["member", "author", "editor", "admin"]), default="member"
)
@click.option("--password", help="Prompted for (hidden) when not given.")
@with_appcontext
def create_user_command(email, username, role, password):
    """Create a confirmed user, e.g. the first admin."""
    from .auth import accounts

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(username, email, password, role=role, confirmed=True)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    except IntegrityError:
        db.session.rollback()
        raise click.ClickException("That username or email is already taken.") from None
    click.echo(f"Created {user.role} {user.username} <{user.email}>.")


@click.command("worker")
@click.option("--once", is_flag=True, help="One pass over what is due, then exit.")
@with_appcontext
def worker_command(once):
    """Deliver the outbox's mail and start newsletters when due, until stopped."""
    import signal
    import threading

    from flask import current_app

    from . import outbox

    app = current_app._get_current_object()
    if once:
        click.echo(f"Delivered {outbox.run_once(outbox.worker_name())} message(s).")
        return
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())  # finish the message in hand, then exit
    click.echo("Mail worker started; Ctrl+C or SIGTERM stops it.")
    outbox.work(app, stop)
    click.echo("Mail worker stopped.")
