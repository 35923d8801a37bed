"""SQLite storage for storyd: see `storyd.store.db` for the theory of operation."""

from storyd.store.db import Migration, ResumeState, Store, load_migrations

__all__ = ["Migration", "ResumeState", "Store", "load_migrations"]
