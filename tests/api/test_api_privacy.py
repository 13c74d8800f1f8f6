"""`imagify forget` reaches the API's own stores: SQLite (generations, idempotency rows) and the Redis cache."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import redis
from conftest import running_api, signup, user_id, wait_generation

from generation_service.cache import MemoryCache

SECRET = "portrait of Lan Nguyen, call 0912 345 678, lan.private@example.com"
OTHER = "a fox in the snow"


def _sqlite_cells(db: Path) -> list[tuple[str, str]]:
    """(table, text) of every text cell of every table of the API's database."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
        return [(t, v) for t in tables for row in con.execute(f'select * from "{t}"') for v in row
                if isinstance(v, str)]  # fmt: skip
    finally:
        con.close()


def _redis_values(r: redis.Redis) -> dict[str, str]:
    return {k.decode(): (r.get(k) or b"").decode() for k in r.scan_iter("*")}


def test_forget_removes_the_users_prompts_from_sqlite_and_redis(api_env, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = api_env(REDIS_URL=redis_url)
    r = redis.Redis.from_url(redis_url)
    idem = {"Idempotency-Key": "gen-1"}
    body = {"prompt": SECRET, "size": "512x512", "enhance_prompt": True}
    with running_api(settings) as api:
        h = signup(api)
        victim = user_id(api, h)
        other = signup(api, "other@example.com")
        gen = api.post("/v1/generations", json=body, headers={**h, **idem}).json()
        wait_generation(api, h, gen["id"])  # reads it back: the finished generation is cached
        kept = api.post("/v1/generations", json={"prompt": OTHER, "size": "512x512"}, headers=other).json()
        wait_generation(api, other, kept["id"])
        assert any(SECRET in v for v in _redis_values(r).values()), "the cache held the prompt before"

        proc = subprocess.run([str(Path(sys.executable).parent / "imagify"), "forget", victim],
                              env=dict(os.environ), capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr

        assert not [k for k, v in _redis_values(r).items() if SECRET in v or "0912" in v], "no prompt in Redis"
        assert any(OTHER in v for v in _redis_values(r).values()), "other users' cache entries are kept"
        left = [(t, v) for t, v in _sqlite_cells(settings.api_dir / "imagify.db") if "0912" in v or "Lan Nguyen" in v]
        assert left == [], left
        # the running API answers from the store again, and a retry of the request is still a replay
        now = api.get(f"/v1/generations/{gen['id']}", headers=h).json()
        assert now["prompt"] == "[forgotten]" and now["enhanced_prompt"].startswith("[forgotten], ")
        replay = api.post("/v1/generations", json=body, headers={**h, **idem})
        assert replay.status_code == 202 and replay.json()["id"] == gen["id"]
        assert (replay.json()["prompt"], replay.json()["enhanced_prompt"]) == ("[forgotten]", now["enhanced_prompt"])
        assert api.get(f"/v1/generations/{kept['id']}", headers=other).json()["prompt"] == OTHER
    r.close()


def test_the_in_process_cache_holds_no_prompt(api_env) -> None:  # type: ignore[no-untyped-def]
    """Without Redis the cache lives in the API process, out of `imagify forget`'s reach: it keeps no prompt."""
    with running_api(api_env()) as api:
        h = signup(api)
        gen = api.post("/v1/generations", json={"prompt": SECRET, "size": "512x512"}, headers=h).json()
        wait_generation(api, h, gen["id"])
        assert api.get(f"/v1/generations/{gen['id']}", headers=h).json()["prompt"] == SECRET
        cache = api.service.cache  # type: ignore[attr-defined]
        assert isinstance(cache, MemoryCache)
        held = [cache.get(k) for k in list(cache._data)]
        assert held and not [v for v in held if "0912" in str(v)]
