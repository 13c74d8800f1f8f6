"""`imagify forget` reaches the API's own stores: SQLite (generations, idempotency rows) and the Redis cache."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from support.api import running_api, signup, user_id, wait_generation

from generation_service.cache import MemoryCache

pytestmark = [pytest.mark.services]

SECRET = "portrait of Lan Nguyen, call 0912 345 678, lan.private@example.com"
OTHER = "a fox in the snow"


IDEM = {"Idempotency-Key": "gen-1"}
BODY = {"prompt": SECRET, "size": "512x512", "enhance_prompt": True}


@dataclass
class Journey:
    victim: str
    headers: dict[str, str]
    other: dict[str, str]
    gen: dict
    kept: dict


def _generate(api) -> Journey:  # type: ignore[no-untyped-def]
    """The victim generates (idempotently) from a prompt with personal data, another user from a plain one;
    both read their finished generation back (the cache, if shared, now holds it)."""
    h = signup(api)
    victim = user_id(api, h)
    other = signup(api, "other@example.com")
    gen = api.post("/v1/generations", json=BODY, headers={**h, **IDEM}).json()
    wait_generation(api, h, gen["id"])
    kept = api.post("/v1/generations", json={"prompt": OTHER, "size": "512x512"}, headers=other).json()
    wait_generation(api, other, kept["id"])
    return Journey(victim, h, other, gen, kept)


def _forget(user: str) -> None:
    """`imagify forget`, as a process."""
    proc = subprocess.run([str(Path(sys.executable).parent / "imagify"), "forget", user],
                          env=dict(os.environ), capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _assert_api_shows_forgotten(api, j: Journey) -> None:  # type: ignore[no-untyped-def]
    """The running API answers from the store again, and a retry of the request is still a replay."""
    now = api.get(f"/v1/generations/{j.gen['id']}", headers=j.headers).json()
    assert now["prompt"] == "[forgotten]" and now["enhanced_prompt"].startswith("[forgotten], ")
    replay = api.post("/v1/generations", json=BODY, headers={**j.headers, **IDEM})
    assert replay.status_code == 202 and replay.json()["id"] == j.gen["id"]
    assert (replay.json()["prompt"], replay.json()["enhanced_prompt"]) == ("[forgotten]", now["enhanced_prompt"])
    assert api.get(f"/v1/generations/{j.kept['id']}", headers=j.other).json()["prompt"] == OTHER


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
    with running_api(settings) as api:
        j = _generate(api)
        assert any(SECRET in v for v in _redis_values(r).values()), "the cache held the prompt before"

        _forget(j.victim)

        assert not [k for k, v in _redis_values(r).items() if SECRET in v or "0912" in v], "no prompt in Redis"
        assert any(OTHER in v for v in _redis_values(r).values()), "other users' cache entries are kept"
        left = [(t, v) for t, v in _sqlite_cells(settings.api_dir / "imagify.db") if "0912" in v or "Lan Nguyen" in v]
        assert left == [], left
        _assert_api_shows_forgotten(api, j)
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


def _dynamodb_texts(client, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Every string attribute of every item of the table."""
    out: list[str] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        out += [v["S"] for item in page["Items"] for v in item.values() if "S" in v]
    return out


def test_forget_removes_the_users_prompts_from_dynamodb(api_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The API on DynamoDB (moto's server, real HTTP): `imagify forget`, run as a process, blanks the user's
    generation items and the stored answers of their idempotency records; a retry still replays."""
    import boto3
    from support.aws_helpers import moto_server

    from generation_service.dynamodb_repository import DynamoRepository

    with moto_server() as endpoint:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "testing")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        DynamoRepository.create_table(client, "imagify-forget")
        settings = api_env(IMAGIFY_API_STORE="dynamodb", IMAGIFY_DYNAMODB_TABLE="imagify-forget",
                           IMAGIFY_DYNAMODB_REGION="us-east-1", IMAGIFY_DYNAMODB_ENDPOINT=endpoint)  # fmt: skip
        with running_api(settings) as api:
            j = _generate(api)
            held = [v for v in _dynamodb_texts(client, "imagify-forget") if "0912" in v]
            assert len(held) >= 2, "the generation item and the idempotency record held the prompt before"

            _forget(j.victim)

            left = [v for v in _dynamodb_texts(client, "imagify-forget")
                    if "0912" in v or "Lan Nguyen" in v or "lan.private" in v]  # fmt: skip
            assert left == [], left
            assert OTHER in _dynamodb_texts(client, "imagify-forget"), "other users' prompts are kept"
            _assert_api_shows_forgotten(api, j)
            _forget(j.victim)  # again: nothing left to change, no error
