from flask import Blueprint

bp = Blueprint("admin", __name__)

# Each module attaches its routes to bp: users and roles, categories, the moderation queue.
from . import audit_log, categories, queue, users  # noqa: E402,F401
