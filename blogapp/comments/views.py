"""Comment routes: posting, replying, editing and deleting."""

from . import bp  # noqa: F401
