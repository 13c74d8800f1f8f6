"""The messages of the notification WebSocket, ``/v1/notifications/ws?access_token=...``: their
schemas (published in the OpenAPI document under ``components.schemas``, since OpenAPI has no
WebSocket operations) and the text that describes them in ``/docs``.

Every message is ``{"type", "at", "data"}``; the server sends, the client only listens (what it
sends is ignored). The socket closes with 4401 when the session ends (logout, token expiry).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter


class HelloData(BaseModel):
    user_id: str


class GenerationCompletedData(BaseModel):
    generation_id: str
    n_images: int
    latency_ms: int


class GenerationFailedData(BaseModel):
    generation_id: str
    error_code: str
    credits_refunded: int
    balance: int


class PaymentSucceededData(BaseModel):
    payment_id: str
    credits_added: int
    balance: int


class CreditsLowData(BaseModel):
    balance: int
    threshold: int


class Hello(BaseModel):
    """Sent once, when the socket is accepted."""

    type: Literal["hello"]
    at: str
    data: HelloData


class GenerationCompleted(BaseModel):
    """A generation of yours succeeded: fetch GET /v1/generations/{generation_id} for its images."""

    type: Literal["generation.completed"]
    at: str
    data: GenerationCompletedData


class GenerationFailed(BaseModel):
    """A generation of yours failed; its credits were refunded (balance after the refund)."""

    type: Literal["generation.failed"]
    at: str
    data: GenerationFailedData


class PaymentSucceeded(BaseModel):
    """VNPAY confirmed a payment of yours; the credits are on your balance."""

    type: Literal["payment.succeeded"]
    at: str
    data: PaymentSucceededData


class CreditsLow(BaseModel):
    """Your balance fell below the threshold with a generation you just asked for."""

    type: Literal["credits.low"]
    at: str
    data: CreditsLowData


MESSAGES: tuple[type[BaseModel], ...] = (Hello, GenerationCompleted, GenerationFailed, PaymentSucceeded, CreditsLow)
Notification = Annotated[
    Hello | GenerationCompleted | GenerationFailed | PaymentSucceeded | CreditsLow, Field(discriminator="type")
]
NOTIFICATION = TypeAdapter(Notification)


def description() -> str:
    """Markdown for the API description: the socket, its close codes and each message."""
    rows = []
    for m in MESSAGES:
        schema = m.model_json_schema()
        data = schema["$defs"][schema["properties"]["data"]["$ref"].rsplit("/", 1)[-1]]["properties"]
        rows.append(f"| `{message_type(m)}` | {(m.__doc__ or '').strip()} | `{'`, `'.join(data)}` |")
    rows_text = "\n".join(rows)
    return (
        "### Live notifications: WebSocket `/v1/notifications/ws?access_token=<access_token>`\n\n"
        'Server-to-client JSON messages `{"type", "at", "data"}` (schema `Notification` below). '
        "A bad or expired token closes the handshake with 4401; an open socket closes with 4401 at logout "
        "and when its token expires (log in again and reconnect).\n\n"
        "| type | when | data |\n|---|---|---|\n" + rows_text
    )


def message_type(model: type[BaseModel]) -> str:
    return str(model.model_json_schema()["properties"]["type"]["const"])


def add_schemas(openapi: dict[str, Any]) -> None:
    """Put ``Notification`` and its messages into the OpenAPI document's components."""
    schema = NOTIFICATION.json_schema(ref_template="#/components/schemas/{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["Notification"] = schema
