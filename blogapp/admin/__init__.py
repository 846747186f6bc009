from flask import Blueprint

bp = Blueprint("admin", __name__)

# Each module attaches its routes to bp: users and roles, categories, the moderation queue,
# site settings, newsletter subscribers, undelivered mail, the audit log.
from . import audit_log, categories, mail, queue, settings, subscribers, users  # noqa: E402,F401
