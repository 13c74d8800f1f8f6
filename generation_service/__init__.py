"""The Imagify generation API (issue 4): accounts, credits, VNPAY payments, asynchronous image
generation, live notifications — every step emitted as a contract-v1 event.

Modules, by what they hold:

- ``bootstrap``      the composition root: builds the service and its collaborators from the settings
- ``app``            FastAPI application: routes, error handlers, lifespan (workers, relay)
- ``schemas``        request/response models (the OpenAPI schema at ``/docs``)
- ``errors``         ``ApiError`` and the stable error shape ``{"error": {"code", "message", "details"}}``
- ``security``       short-lived access tokens (HS256 JWS by PyJWT); ``passwords`` argon2id hashes;
                     ``download_links`` signed links (itsdangerous)
- ``repository``     the storage interface and its records; ``sqlite_repository`` the default,
                     ``dynamodb_repository`` the single table on AWS; ``state_machines`` the
                     payment and generation transitions both follow
- ``vnpay``          VNPAY 2.1.0 payment URLs, signatures and IPN verification; ``fake_vnpay`` the demo payer
- ``catalog``        models, prices, credit packages, ``auto`` model choice, prompt enhancement
- ``adapters``       model adapters: local Pillow generator, Bedrock Titan/Nova-Canvas and Stability bodies
- ``object_store``   where images live: local folder or S3 (presigned URLs)
- ``events``         contract events and the outbox relay to the stream producer
- ``worker``         the generation queue and its worker threads; ``sqs_queue`` / ``queue_workers`` on SQS
- ``notifications``  per-user live channel (WebSocket), fanned out through Redis between processes
- ``cache`` / ``rate_limit``  in-process or Redis cache with TTLs; fixed-window per-user limits
- ``accounts_service``, ``catalog_service``, ``generations_service``, ``payments_service``  the use cases,
                     one service per domain (``service_context``: the caller, the configuration, idempotency)
- ``service``        composes them over the shared collaborators and runs what runs beside them
                     (workers or SQS queue work, the outbox relay, the background process)
- ``serve``          ``imagify serve`` and ``imagify fake-vnpay``
"""
