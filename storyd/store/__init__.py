"""SQLite storage for storyd: see `storyd.store.db` for the theory of operation."""
