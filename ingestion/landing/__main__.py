"""``python -m ingestion.landing contract FILE``: propose a landing contract from a sample file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingestion.landing.propose import SampleError, propose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestion.landing")
    commands = parser.add_subparsers(dest="command", required=True)
    contract = commands.add_parser(
        "contract",
        help="print a proposed contract (YAML) for the table a sample file holds",
        description="Infer a table's contract from a sample CSV (also .csv.gz), JSON lines or "
        "Parquet file and print it as YAML to review and save under ingestion/landing/contracts/.",
    )
    contract.add_argument("file", type=Path, help="the sample file")
    contract.add_argument(
        "--source", help="the sending system (default: <source> of a <source>/<date>/ folder)"
    )
    contract.add_argument(
        "--table", help="the table (default: the file name up to its first - or .)"
    )
    args = parser.parse_args(argv)
    try:
        proposal = propose(args.file, source=args.source, table=args.table)
    except SampleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(proposal.to_yaml())
    return 0


if __name__ == "__main__":
    sys.exit(main())
