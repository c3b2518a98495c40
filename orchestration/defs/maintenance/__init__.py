"""Table maintenance: the nightly job and the table-health checks."""
