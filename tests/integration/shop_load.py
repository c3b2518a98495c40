"""A shop load in its own process (``python -m tests.integration.shop_load DATE SCALE [BATCH]``).

Settings come from the environment, as in a Dagster run, so a test can start it, SIGKILL it
mid-load and start it again.
"""

from __future__ import annotations

import sys
from datetime import date

from ingestion.pipeline import make_pipeline
from ingestion.shop import shop


def main(argv: list[str]) -> None:
    day, scale_factor = date.fromisoformat(argv[0]), float(argv[1])
    batch_size = int(argv[2]) if len(argv) > 2 else 100_000
    info = make_pipeline().run(shop(day, scale_factor=scale_factor, batch_size=batch_size))
    print(info, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
