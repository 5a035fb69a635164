"""The analysts' side: `adguard-mw report`, `compact` and `prune` over the event files (schema: docs/events.md).

DuckDB is an optional extra (`pip install 'adguard-mw[report]'`), imported only when a command runs, so
`import adguard_mw` never needs it.
"""
