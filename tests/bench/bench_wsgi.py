"""The blog as the benchmark serves it: create_app() configured from the environment."""

import os

from blogapp import create_app

app = create_app(
    {
        "PAGE_CACHE_GENERATION_FILE": os.environ["BENCH_GENERATION_FILE"],
        "RATELIMIT_STORAGE_URI": "memory://",
    }
)
