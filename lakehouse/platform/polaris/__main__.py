"""``python -m lakehouse.platform.polaris bootstrap``: the Kubernetes Job's command."""

import sys

from lakehouse.platform.polaris.cli import main

sys.exit(main())
