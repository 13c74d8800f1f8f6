"""The catalogue the API serves: models of this backend, sizes, credit packages (cached)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation_service import catalog
from generation_service.cache import RESPONSE_TTL_S, Cache
from generation_service.service_context import ServiceConfig


@dataclass
class CatalogService:
    config: ServiceConfig
    cache: Cache

    def models_view(self) -> dict[str, Any]:
        cached = self.cache.get(f"resp:models:{self.config.image_backend}")
        if cached is not None:
            return cached
        general, artistic = catalog.AUTO_CHOICE[self.config.image_backend]
        body = {
            "backend": self.config.image_backend,
            "auto": {"general": general, "artistic": artistic},
            "models": [
                {
                    "id": m.id,
                    "kind": m.kind,
                    "credits_per_image": m.credits,
                    "cost_usd_per_image": m.cost_usd,
                    "description": m.description,
                    "styles": list(m.styles),
                    "qualities": m.qualities,
                    "premium_credits_per_image": m.premium[1] if m.premium else None,
                }
                for m in catalog.models_for_backend(self.config.image_backend)
            ],
            "sizes": list(catalog.SIZES),
            "packages": [
                {"id": p.id, "amount_vnd": p.amount_vnd, "credits": p.credits} for p in catalog.PACKAGES.values()
            ],
        }
        self.cache.set(f"resp:models:{self.config.image_backend}", body, RESPONSE_TTL_S)
        return body
