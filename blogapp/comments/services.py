"""Comment work shared by views: the thread shown under a post."""

from ..models import Post


def thread_context(post: Post, args) -> dict:
    """Template context for the comment thread under a post."""
    return {}
