"""Constants of the landing source: layout, formats, limits and the names of its tables."""

from __future__ import annotations

# <root>/<source>/<ingest_date>/<table>[-<anything>].<extension>
FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
ENCODING = "utf-8"  # text files must be UTF-8 (a UTF-8 BOM is accepted)
CSV_DELIMITER = ","
SUSPECT_DELIMITERS = (";", "\t", "|")  # a one-column header holding one of these: wrong delimiter

MAX_FIELD_CHARS = 65_536  # longer text values are quarantined (they break downstream engines)
RECORD_PREVIEW_CHARS = 1_000  # how much of a bad record the quarantine keeps

QUARANTINE_TABLE = "quarantine"
LEDGER_KEY = "processed_files"  # dlt source state: file path -> fingerprint (size + etag/mtime)
REPORT_KEY = "last_run"  # dlt source state: counts of the last run
