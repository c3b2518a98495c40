"""``make mlflow``: MLflow's UI over the embedded default's tracking store (no other server).

Runs ``mlflow ui`` on the SQLite store and artifact folder ml.settings names, bound to localhost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from ml.settings import MlflowSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    settings = MlflowSettings.from_env()
    folder = settings.local_folder()
    if folder is None:
        sys.exit("make mlflow opens the embedded default's store; in the cluster use its MLflow.")
    folder.mkdir(parents=True, exist_ok=True)
    mlflow = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or "mlflow"
    command = [
        mlflow, "ui",
        "--backend-store-uri", settings.tracking_uri,
        "--default-artifact-root", settings.artifact_root,
        "--host", "127.0.0.1",
        "--port", str(args.port),
        "--workers", "1",  # a laptop UI for one user; the default 4 take the cores of a run
    ]  # fmt: skip
    os.execv(mlflow, command)


if __name__ == "__main__":
    main()
