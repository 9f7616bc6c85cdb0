"""Settings for benchmark runs: the product's own, plus the bench-only URLs (the baseline view).

DATABASE_URL already points at the bench database when this is imported (bench.database).
"""

from lifecycle.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
