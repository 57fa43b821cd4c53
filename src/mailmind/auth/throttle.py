"""Login throttling (PRODUCT_SPEC §2.1 "Brute force").

Failures are counted per (account, IP) over 24 hours, so a stranger elsewhere can only lock
themselves out, never the account's owner. After 5 failures the next try must wait 15 minutes,
after 10 one hour, after 15 a day. Independently an IP with more than 20 failures in 15 minutes
is blocked for 15 minutes. A blocked attempt is answered AUTH007 without checking the password.
A success clears the (account, IP) counter; an admin unlock clears every counter of the account.
"""

from __future__ import annotations

import hashlib
import time

import orjson

from mailmind.errors import RateLimited
from mailmind.redis import Store

ACCOUNT_WINDOW = 24 * 3600
IP_WINDOW = 15 * 60
IP_LIMIT = 20
IP_BLOCK = 15 * 60


def wait_after(failures: int) -> int:
    """Seconds the next attempt must wait after ``failures`` failed attempts."""
    if failures < 5:
        return 0
    if failures < 10:
        return 15 * 60
    if failures < 15:
        return 3600
    return 24 * 3600


def _account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _ip_key(ip: str) -> str:
    return hashlib.sha256(ip.encode()).hexdigest()[:24]


def _pair_key(email: str, ip: str) -> str:
    return f"throttle:acct:{_account_key(email)}:{_ip_key(ip)}"


def _ip_block_key(ip: str) -> str:
    return f"throttle:ipblock:{_ip_key(ip)}"


class LoginThrottle:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def check(self, email: str, ip: str) -> None:
        """Raise AUTH007 with Retry-After when this (account, IP) or IP must wait."""
        now = time.time()
        raw = await self.store.get(_pair_key(email, ip) + ":last")
        if raw:
            state = orjson.loads(raw)
            retry_at = float(state["last"]) + wait_after(int(state["count"]))
            if retry_at > now:
                raise RateLimited(
                    "AUTH007", int(retry_at - now + 0.999), "Too many login attempts; try later"
                )
        blocked_until = await self.store.get(_ip_block_key(ip))
        if blocked_until and float(blocked_until) > now:
            raise RateLimited(
                "AUTH007",
                int(float(blocked_until) - now + 0.999),
                "Too many login attempts from this address; try later",
            )

    async def failure(self, email: str, ip: str) -> int:
        """Count a failure; return the (account, IP) failure count."""
        key = _pair_key(email, ip)
        # The counter is atomic, so parallel guesses cannot slip under the limit.
        count, ttl = await self.store.incr_window(key + ":count", ACCOUNT_WINDOW)
        await self.store.set(
            key + ":last", orjson.dumps({"count": count, "last": time.time()}).decode(), ttl
        )
        ip_failures, _ = await self.store.incr_window(f"throttle:ip:{_ip_key(ip)}", IP_WINDOW)
        if ip_failures > IP_LIMIT:
            await self.store.set(_ip_block_key(ip), str(time.time() + IP_BLOCK), IP_BLOCK)
        return count

    async def success(self, email: str, ip: str) -> None:
        key = _pair_key(email, ip)
        await self.store.delete(key + ":count", key + ":last")

    async def unlock(self, email: str) -> int:
        return await self.store.delete_matching(f"throttle:acct:{_account_key(email)}:*")
