"""Payments through VNPAY: the order and its payment URL, the IPN that settles it (credits added once),
the return page's outcome, the caller's view of an order."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from generation_service import catalog, return_page, vnpay
from generation_service.errors import ApiError
from generation_service.events import event, now_iso
from generation_service.notifications import NotificationHub
from generation_service.repository import Events, Idem, Order, Repository
from generation_service.service_context import Emitted, Principal, ServiceConfig, answered

if TYPE_CHECKING:
    from generation_service.background import PipeHub

log = logging.getLogger(__name__)


@dataclass
class PaymentService:
    config: ServiceConfig
    repo: Repository
    hub: NotificationHub | PipeHub  # in the background process, a pipe to the API process's hub
    _emitted: Emitted

    def create_payment(
        self, p: Principal, package: str, bank_code: str, locale: str, ip: str, idem: Idem | None
    ) -> dict[str, Any]:
        pkg = catalog.PACKAGES.get(package)
        if pkg is None:
            raise ApiError(
                422,
                "unknown_package",
                f"no package {package!r}; choose one of " + ", ".join(catalog.PACKAGES),
                [{"field": "package"}],
            )
        created = datetime.now(UTC)
        order = Order(
            id=uuid.uuid4().hex,
            user_id=p.user_id,
            package=pkg.id,
            amount_vnd=pkg.amount_vnd,
            credits=pkg.credits,
            status="pending",
            created_at=now_iso(),
            expires_at=(created + timedelta(minutes=self.config.vnpay_expire_min)).isoformat().replace("+00:00", "Z"),
        )
        params = vnpay.payment_params(
            vnpay.PaymentRequest(
                order.id,
                pkg.amount_vnd,
                f"Imagify {pkg.id} package {pkg.credits} credits",
                ip or "127.0.0.1",
                created,
                self.config.vnpay_expire_min,
                locale,
                bank_code,
            ),
            self.config.vnpay_tmn_code,
            self.config.vnpay_return_url,
        )
        url = vnpay.payment_url(self.config.vnpay_pay_url, params, self.config.vnpay_hash_secret)
        body = {
            "payment_id": order.id,
            "status": "pending",
            "package": pkg.id,
            "amount_vnd": pkg.amount_vnd,
            "credits": pkg.credits,
            "payment_url": url,
            "expires_at": order.expires_at,
        }
        events = [
            event(
                "payment_initiated",
                p.user_id,
                {"payment_id": order.id, "package": pkg.id, "amount_vnd": pkg.amount_vnd, "provider": "vnpay"},
                p.session_id,
            )
        ]
        self.repo.create_order(order, events, answered(idem, 201, body))
        self._emitted()
        return body

    def get_payment(self, p: Principal, order_id: str) -> dict[str, Any]:
        order = self.repo.get_order(order_id)
        if order is None or order.user_id != p.user_id:
            raise ApiError(404, "not_found", "no such payment")
        return self._order_view(order)

    @staticmethod
    def _order_view(order: Order) -> dict[str, Any]:
        return {
            "payment_id": order.id,
            "status": order.status,
            "package": order.package,
            "amount_vnd": order.amount_vnd,
            "credits": order.credits,
            "created_at": order.created_at,
            "confirmed_at": order.confirmed_at,
            "response_code": order.response_code,
            "transaction_status": order.transaction_status,
        }

    def handle_ipn(self, params: dict[str, str]) -> tuple[str, str]:
        """VNPAY's IPN: signature (97), order (01), amount (04), already confirmed (02), then 00."""
        if not vnpay.verify(params, self.config.vnpay_hash_secret):
            return vnpay.IPN_INVALID_SIGNATURE
        if params.get("vnp_TmnCode") != self.config.vnpay_tmn_code:  # signed for another terminal
            log.warning("IPN refused: vnp_TmnCode is not this merchant's terminal")
            return vnpay.IPN_ORDER_NOT_FOUND
        order = self.repo.get_order(params.get("vnp_TxnRef", ""))
        if order is None:
            return vnpay.IPN_ORDER_NOT_FOUND
        if vnpay.amount_vnd(params) != order.amount_vnd:
            return vnpay.IPN_INVALID_AMOUNT
        if order.status != "pending":
            return vnpay.IPN_ALREADY_CONFIRMED
        # paid after the order's expiry (VNPAY's own pay date; a late IPN for an in-time payment is fine)
        paid = vnpay.paid_at(params)
        if paid is None or paid > datetime.fromisoformat(order.expires_at.replace("Z", "+00:00")):
            log.warning("IPN refused: order %s paid after its expiry (%s)", order.id, order.expires_at)
            return vnpay.IPN_ORDER_EXPIRED
        success = vnpay.is_success(params)
        response_code = params.get("vnp_ResponseCode", "")

        def events_for(before: int, after: int) -> Events:
            if success:
                return [
                    event(
                        "payment_succeeded",
                        order.user_id,
                        {
                            "payment_id": order.id,
                            "amount_vnd": order.amount_vnd,
                            "credits_added": order.credits,
                            "provider": "vnpay",
                            "provider_transaction_id": params.get("vnp_TransactionNo", ""),
                        },
                    )
                ]
            return [
                event(
                    "payment_failed",
                    order.user_id,
                    {
                        "payment_id": order.id,
                        "amount_vnd": order.amount_vnd,
                        "response_code": vnpay.failure_code(params),
                        "vnp_response_code": response_code,
                        "vnp_transaction_status": params.get("vnp_TransactionStatus", ""),
                    },
                )
            ]

        outcome = self.repo.settle_order(
            order.id,
            success,
            response_code,
            params.get("vnp_TransactionStatus", ""),
            params.get("vnp_TransactionNo", ""),
            params.get("vnp_BankCode", ""),
            params.get("vnp_PayDate", ""),
            now_iso(),
            events_for,
        )
        if outcome == "already_confirmed":
            return vnpay.IPN_ALREADY_CONFIRMED
        if outcome == "not_found":
            return vnpay.IPN_ORDER_NOT_FOUND
        self._emitted()
        if success:
            self.hub.publish(
                order.user_id,
                "payment.succeeded",
                {"payment_id": order.id, "credits_added": order.credits, "balance": self.repo.balance(order.user_id)},
            )
        return vnpay.IPN_OK

    def handle_return(self, params: dict[str, str]) -> dict[str, Any]:
        if not vnpay.verify(params, self.config.vnpay_hash_secret):
            raise ApiError(400, "invalid_signature", "the payment result is not signed by VNPAY")
        order = self.repo.get_order(params.get("vnp_TxnRef", ""))
        if order is None:
            raise ApiError(404, "not_found", "no such payment")
        result = return_page.outcome(order.status, vnpay.is_success(params))
        texts = return_page.messages(result, order.credits, vnpay.failure_code(params))
        return {
            **self._order_view(order),
            "vnpay_response_code": params.get("vnp_ResponseCode"),
            "outcome": result,
            "message": texts["en"],
            "messages": texts,
        }
