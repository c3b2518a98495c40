"""Table maintenance for every Iceberg table in the catalog: snapshot expiry, compaction of small
files, removal of orphan files, and a health record per table.

Two engines: pyiceberg on the embedded profile (this package's own code: pyiceberg 0.12 has no
compaction or orphan removal), Trino's Iceberg procedures in the cluster (``trino.py`` builds
the statements). What to keep and what to compact comes from a :class:`MaintenancePolicy`: the
project's defaults, or the Polaris policies applicable to the table in the cluster.
"""
