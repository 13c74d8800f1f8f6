"""The Imagify generation API (issue 4): accounts, credits, VNPAY payments, asynchronous image
generation, live notifications — every step emitted as a contract-v1 event.

Modules, by what they hold:

- ``app``            FastAPI application: routes, error handlers, lifespan (workers, relay)
- ``schemas``        request/response models (the OpenAPI schema at ``/docs``)
- ``errors``         ``ApiError`` and the stable error shape ``{"error": {"code", "message", "details"}}``
- ``security``       scrypt password hashes, signed short-lived access tokens, signed download links
- ``repository``     the storage interface and its records; ``sqlite_repository`` the default
- ``vnpay``          VNPAY 2.1.0 payment URLs, signatures and IPN verification; ``fake_vnpay`` the demo payer
- ``catalog``        models, prices, credit packages, ``auto`` model choice, prompt enhancement
- ``adapters``       model adapters: local Pillow generator, Bedrock Titan/Nova-Canvas and Stability bodies
- ``object_store``   where images live: local folder or S3 (presigned URLs)
- ``events``         contract events and the outbox relay to the stream producer
- ``worker``         the generation queue and its worker threads
- ``notifications``  per-user live channel (WebSocket)
- ``cache`` / ``rate_limit``  in-process or Redis cache with TTLs; fixed-window per-user limits
- ``service``        the use cases, tying all of the above together
- ``serve``          ``imagify serve`` and ``imagify fake-vnpay``
"""
