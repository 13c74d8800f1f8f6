"""The credits ledger: append-only, derived balance, no overdraw under concurrency (the repository-level
concurrency tests, on both repositories, are in test_api_repository.py)."""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.api import both_stores, signup

from generation_service.repository import Generation, User
from generation_service.sqlite_repository import SqliteRepository


def _user(repo: SqliteRepository, credits: int) -> str:
    uid = str(uuid.uuid4())
    repo.create_user(User(uid, f"{uid}@example.com", "x", "u", "2025-01-01T00:00:00Z"), credits, [], None)
    return uid


def _gen(uid: str, credits: int) -> Generation:
    return Generation(str(uuid.uuid4()), uid, "p", "auto", "local-general", 1, 512, 512, False, 1, "queued",
                      credits, 0.0, "2025-01-01T00:00:00Z")


@both_stores
def test_concurrent_http_generations_never_overdraw(api: TestClient) -> None:
    h = signup(api)  # 10 credits, local models cost 1 per image
    body = {"prompt": "a red fox", "n_images": 4, "size": "512x512"}
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: api.post("/v1/generations", json=body, headers=h).status_code, range(12)))
    assert codes.count(202) == 2 and codes.count(402) == 10
    repo = api.service.repo  # type: ignore[attr-defined]
    uid = api.get("/v1/me", headers=h).json()["id"]
    assert repo.verify_ledger(uid)
    assert min(e.balance_after for e in repo.ledger(uid)) >= 0


def test_ledger_is_append_only(tmp_path: Path) -> None:
    repo = SqliteRepository(tmp_path / "db.sqlite")
    uid = _user(repo, 5)
    c = sqlite3.connect(tmp_path / "db.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        c.execute("UPDATE ledger SET amount = 1000")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        c.execute("DELETE FROM ledger")
    with pytest.raises(sqlite3.IntegrityError):  # a negative balance cannot even be written
        c.execute("INSERT INTO ledger (entry_id, user_id, kind, amount, balance_after, ref, created_at) "
                  "VALUES ('x', ?, 'charge', -10, -5, 'r', 't')", (uid,))
    c.close()
    assert repo.balance(uid) == 5


@both_stores
def test_ledger_endpoint_shows_every_movement(api: TestClient) -> None:
    h = signup(api)
    r = api.post("/v1/generations", json={"prompt": "a dog", "n_images": 2, "size": "512x512"}, headers=h)
    assert r.status_code == 202
    ledger = api.get("/v1/credits/ledger", headers=h).json()
    kinds = [(e["kind"], e["amount"], e["balance_after"]) for e in ledger["entries"]]
    assert kinds[-1] == ("grant", 10, 10)
    assert kinds[-2] == ("charge", -2, 8)
    assert ledger["entries"][-2]["ref"] == r.json()["id"]
    assert api.get("/v1/credits/ledger?limit=0", headers=h).status_code == 422
