"""Admin routes: users and roles, categories, the moderation queue."""

from . import bp  # noqa: F401
