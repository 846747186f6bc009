from flask import Blueprint

bp = Blueprint("admin", __name__)

# Each module attaches its routes to bp: users and roles, categories, the moderation queue,
# site settings, the audit log.
from . import audit_log, categories, queue, settings, users  # noqa: E402,F401
