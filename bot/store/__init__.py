"""Persistence: repositories per aggregate over SQLite or PostgreSQL (see `store`, `db`)."""

from bot.store.base import Dialog, OutboxItem
from bot.store.store import Store, open_store

__all__ = ["Dialog", "OutboxItem", "Store", "open_store"]
