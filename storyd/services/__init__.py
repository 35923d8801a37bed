"""Trio services: each `async def run(..., *, task_status)` reports readiness when it can serve."""
