"""A fresh store on each backend for every contract test (`store_url` is parametrised)."""

from __future__ import annotations

import pytest

from bot.store import open_store
from bot.vault import Vault


@pytest.fixture
async def store(store_url, tmp_path):
    store = await open_store(store_url, tmp_path, Vault.from_env())   # personal data encrypted, as served
    yield store
    await store.close()
