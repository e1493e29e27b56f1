"""Persistence: repositories per aggregate behind small protocols (see `base`)."""

from bot.store.base import Dialog, OutboxItem
from bot.store.sqlite import SQLiteStore, open_store

Store = SQLiteStore

__all__ = ["Dialog", "OutboxItem", "SQLiteStore", "Store", "open_store"]
