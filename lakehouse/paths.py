"""Where the project's files live, computed once so no module walks ``__file__`` parents."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "transformations"
DEFAULT_DATA_DIR = REPO_ROOT / ".data"
