"""API errors with one stable shape: ``{"error": {"code": str, "message": str, "details": list}}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the client can act on; ``code`` is stable and machine-readable."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


class InsufficientCredits(ApiError):
    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(
            402,
            "insufficient_credits",
            f"this needs {needed} credits and the balance is {balance}",
            [{"balance": balance, "needed": needed}],
        )


class IdempotentReplay(Exception):  # noqa: N818 - a signal, not an error
    """The Idempotency-Key was used before for the same request: answer with the stored response."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__("idempotent replay")
        self.status = status
        self.body = body


def idempotency_conflict() -> ApiError:
    return ApiError(
        422,
        "idempotency_key_reused",
        "this Idempotency-Key was already used with a different request; use a new key",
    )
