"""The AlliedUP Co-op Blog: create_app() builds the application."""

import os

from flask import Flask

from . import cache, commands, errors, guest_token, inputs, outbox, security, templating
from .config import load_config
from .extensions import csrf, db, limiter, login_manager, mail, migrate


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    register_extensions(app)
    guest_token.init_app(app)  # guests' forms on shared pages (after csrf)
    inputs.init_app(app)  # before any route: <int:...> is the bounded parser
    register_blueprints(app)
    errors.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    commands.init_app(app)
    cache.init_app(app)
    outbox.init_app(app)
    security.trust_proxies(app)  # outermost, so every layer sees the client's address
    return app


def register_extensions(app: Flask) -> None:
    from . import database

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(
        app, db, directory=os.path.join(app.root_path, "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .auth.security_views import bp as account_security_bp
    from .comments import bp as comments_bp
    from .discovery import bp as discovery_bp
    from .health import bp as health_bp
    from .media import bp as media_bp
    from .newsletter import bp as newsletter_bp
    from .posts import bp as posts_bp
    from .wordpress import bp as wordpress_bp

    app.register_blueprint(posts_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(account_security_bp, url_prefix="/account")
    app.register_blueprint(comments_bp)
    app.register_blueprint(discovery_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(health_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(newsletter_bp)
    app.register_blueprint(wordpress_bp)  # old WordPress permalinks
