"""Where the WeChat access token lives. WeChat invalidates a token when a new one is taken, so
every worker of an official account must use the same one: the token is kept in the store, and
only the worker holding the refresh lock fetches a new one while the others wait and then read it.
A token WeChat refuses (40001) is replaced at most once every `REFRESH_EVERY`, whatever the number
of sends and workers meeting the refusal: WeChat allows 2,000 fetches a day, and a token it keeps
refusing (a wrong secret, a token taken by another system) is not mended by fetching more.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Awaitable, Callable

from bot.clock import Clock
from bot.errors import WeChatAPIError

Fetch = Callable[[], Awaitable[tuple[str, int]]]   # a new (token, seconds it lasts) from WeChat
EARLY = timedelta(minutes=5)   # refresh this long before expiry, so no request meets an expired token
REFRESH_EVERY = timedelta(minutes=1)   # a refused token is replaced at most this often


class SharedToken:
    def __init__(self, store, app_id: str, clock: Clock, fetched: Callable[[], object] = lambda: None):
        self.store = store
        self.app_id = app_id
        self.clock = clock
        self.fetched = fetched   # told of each token taken from WeChat (counted in /metrics)

    async def current(self, fetch: Fetch, stale: str | None = None) -> tuple[str, datetime]:
        """The token and when to stop using it: the stored one while it is good and not the
        `stale` one WeChat just refused; otherwise one fetched by exactly one worker."""
        if (kept := await self._good(stale)) is not None:
            return kept
        async with self.store.hold(f"wechat-token:{self.app_id}"):
            if (kept := await self._good(stale)) is not None:   # another worker refreshed it meanwhile
                return kept
            now = self.clock.now()
            stored = await self.store.tokens.get(self.app_id)
            taken = await self.store.tokens.fetched_at(self.app_id)
            if stored is not None and stored[1] > now and taken is not None and now - taken < REFRESH_EVERY:
                raise WeChatAPIError(40001, "WeChat refused an access token taken less than a minute ago; "
                                            "not taking another yet")
            token, lasts = await fetch()
            self.fetched()
            until = now + max(timedelta(seconds=lasts) - EARLY, timedelta(seconds=60))
            await self.store.tokens.save(self.app_id, token, until, fetched_at=now)
            return token, until

    async def _good(self, stale: str | None) -> tuple[str, datetime] | None:
        kept = await self.store.tokens.get(self.app_id)
        if kept is None or kept[0] == stale or kept[1] <= self.clock.now():
            return None
        return kept
