"""Constants of the landing source: layout, formats, limits and the names of its tables."""

from __future__ import annotations

# <root>/<source>/<ingest_date>/<table>[-<anything>].<extension>[.<compression>]
FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
# Text files may be compressed (fsspec's names); Parquet compresses inside the file.
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
ENCODING = "utf-8"  # text files must be UTF-8 (a UTF-8 BOM is accepted)
CSV_DELIMITER = ","
SUSPECT_DELIMITERS = (";", "\t", "|")  # a one-column header holding one of these: wrong delimiter

MAX_FIELD_CHARS = 65_536  # longer text values are quarantined (they break downstream engines)
# A CSV record longer than this is cut short as broken (almost always a stray quote swallowing the
# lines after it); it bounds how much of a file one record can hold in memory.
MAX_RECORD_CHARS = 16 * MAX_FIELD_CHARS
RECORD_PREVIEW_CHARS = 1_000  # how much of a bad record the quarantine keeps
# Records validated and handed to dlt at a time: a reader holds about one batch, not the file.
BATCH_ROWS = 50_000
BATCH_CHARS = 64 << 20  # a batch ends early past this much record text (wide or long rows)

# Columns added to every landed row: where it came from (Parquet: the row number as its line).
SOURCE_FILE_COLUMN = "_source_file"
SOURCE_LINE_COLUMN = "_source_line"

QUARANTINE_TABLE = "quarantine"
LEDGER_KEY = "processed_files"  # dlt source state: file path -> fingerprint (size + etag/mtime)
REPORT_KEY = "last_run"  # dlt source state: counts of the last run
