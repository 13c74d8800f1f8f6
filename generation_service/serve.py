"""``imagify serve`` (the API and its workers) and ``imagify fake-vnpay`` (pay an order locally)."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

from foundation import config

SERVE_HELP = """\
Start the Imagify generation API with its generation workers and event relay on the embedded
default: SQLite under $IMAGIFY_HOME/api, images in $IMAGIFY_HOME/api/images, events to the local
stream ($IMAGIFY_HOME/stream). Workers and relay run in a background process that the API starts,
supervises and stops (IMAGIFY_API_BACKGROUND=thread keeps them in the API process).
OpenAPI docs at http://HOST:PORT/docs. Configuration: the IMAGIFY_API_*, IMAGIFY_VNPAY_*,
IMAGIFY_IMAGE_BACKEND, IMAGIFY_DYNAMODB_*, REDIS_URL... variables in foundation/config.py.
"""

FAKE_VNPAY_HELP = """\
Play VNPAY for a payment URL returned by POST /v1/payments/vnpay: check its signature, then send
the signed IPN (server-to-server confirmation) to the API, as VNPAY would, and print the API's
answer and the return URL the buyer's browser would open. Uses IMAGIFY_VNPAY_HASH_SECRET.
The IPN goes to the API that made the payment URL: the scheme, host and port of its signed
vnp_ReturnUrl (so `imagify serve --port 8123` is paid on 8123); --api overrides it.
"""

DLQ_DRAIN_HELP = """\
Read the dead-letter queue of IMAGIFY_GENERATION_QUEUE_URL (its RedrivePolicy) and mark each
generation it names failed, refunding its credits once (one that is already final is left as it
is). The messages stay in the DLQ, hidden for an hour: it keeps what gave up, for inspection and its
depth alarm; they expire with its retention. `imagify serve` does the same every minute.
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser(
        "serve",
        help="run the generation API (FastAPI + uvicorn) with its workers",
        description=SERVE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: imagify serve --port 8000   then open http://127.0.0.1:8000/docs",
    )
    s.add_argument("--host", default=None, help="interface (default IMAGIFY_API_HOST or 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port (default IMAGIFY_API_PORT or 8000)")
    s.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="uvicorn log level (default info)",
    )
    s.add_argument(
        "--role",
        choices=config.API_ROLES,
        default=None,
        help="all: the API and its workers (default, IMAGIFY_API_ROLE); api: requests only, generations go to "
        "the SQS queue; worker: the queue's workers only, no HTTP (the two ECS services of infra/api.yaml)",
    )
    s.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one JSON line per request / WebSocket on stdout: method, path (no query string), status, "
        "duration_ms, bytes, client, request_id (default on)",
    )
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser(
        "api",
        help="operate the generation API (its SQS generation queue)",
        description="Operations on the generation API's AWS resources, with the settings of `imagify serve`.",
    )
    api_sub = s.add_subparsers(dest="api_command", required=True, metavar="COMMAND")
    d = api_sub.add_parser(
        "dlq-drain",
        help="fail and refund the generations whose messages are in the dead-letter queue",
        description=DLQ_DRAIN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("--wait", type=int, default=0, help="long-poll this many seconds (0-20) for a first message")
    d.set_defaults(func=cmd_dlq_drain)

    s = sub.add_parser(
        "fake-vnpay",
        help="pay a VNPAY payment URL locally: send the signed IPN to the API",
        description=FAKE_VNPAY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='example: imagify fake-vnpay "$PAYMENT_URL"   (or --response-code 24 for a cancel)',
    )
    s.add_argument("payment_url", help="the payment_url from POST /v1/payments/vnpay")
    s.add_argument("--response-code", default="00", help="vnp_ResponseCode to report (00 = paid, 24 = cancelled)")
    s.add_argument(
        "--api", default=None, help="API base URL (default: the origin of the URL's vnp_ReturnUrl, with its port)"
    )
    s.add_argument("--print-only", action="store_true", help="print the signed IPN URL, do not send it")
    s.set_defaults(func=cmd_fake_vnpay)


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    settings = config.load()
    host = args.host or settings.api_host
    port = args.port or settings.api_port
    if args.host or args.port:
        public = settings.api_public_url
        if public == f"http://{settings.api_host}:{settings.api_port}":
            public = f"http://{host}:{port}"
        settings = settings.replace(
            api_host=host,
            api_port=port,
            api_public_url=public,
            vnpay_return_url=settings.vnpay_return_url.replace(settings.api_public_url, public, 1),
        )
    if args.role:
        settings = settings.replace(api_role=args.role)
    logging.getLogger("generation_service").setLevel(logging.INFO)
    if settings.api_role == "worker":
        from generation_service.background import run_worker

        for handler in logging.getLogger().handlers:  # the CLI's handlers pass warnings only: the workers' INFO
            handler.setLevel(logging.INFO)
        config.check_api_role(settings)
        print(f"Imagify generation workers (no HTTP; queue {settings.generation_queue_url})", file=sys.stderr)
        run_worker(settings)
        return 0
    import uvicorn  # the API roles only: a worker runs without the web stack

    from generation_service.app import create_app
    from generation_service.log_redaction import uvicorn_log_config

    # refuses missing or demo secrets on IMAGIFY_ENV=aws, a role without its queue (ValueError)
    app = create_app(settings, access_log=args.access_log)
    print(f"Imagify API on http://{host}:{port}  (docs: /docs; state: {settings.api_dir})", file=sys.stderr)
    if settings.api_secrets_arn:
        print(f"secrets: read from Secrets Manager ({settings.api_secrets_arn})", file=sys.stderr)
    # uvicorn's handlers redact credentials (WebSocket ?access_token=...) from every line they write
    # X-Forwarded-For/-Proto are believed only from the configured proxies (uvicorn's default
    # trusts any loopback peer: a local client could pick its address and dodge the rate limit)
    proxies = list(settings.api_trusted_proxies)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=args.log_level,
        access_log=False,
        log_config=uvicorn_log_config(),
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )
    return 0


def cmd_dlq_drain(args: argparse.Namespace) -> int:
    from generation_service.bootstrap import build_service
    from generation_service.queue_workers import drain_dead_letters

    settings = config.load()
    if not settings.generation_queue_url:
        raise ValueError("IMAGIFY_GENERATION_QUEUE_URL is not set: there is no generation queue to drain")
    svc = build_service(settings, background="thread")
    try:
        assert svc.sqs is not None
        dlq = svc.sqs.dead_letter_queue()
        failed = drain_dead_letters(dlq, svc.generations.give_up, max(0, min(20, args.wait)))
    finally:
        svc.stop()
    print(f"dead-letter queue {dlq.url}: {failed} generations marked failed and refunded")
    return 0


def cmd_fake_vnpay(args: argparse.Namespace) -> int:
    from generation_service.api_secrets import with_api_secrets
    from generation_service.fake_vnpay import FakeVnpayError, api_origin, callback_url, pay

    settings = with_api_secrets(config.load())  # the API's VNPAY secret, wherever it is kept
    try:
        params = pay(args.payment_url, settings.vnpay_hash_secret, response_code=args.response_code)
        base = args.api or api_origin(args.payment_url)
    except (FakeVnpayError, KeyError) as err:
        print(f"imagify fake-vnpay: {err}", file=sys.stderr)
        return 2
    ipn = callback_url(base, "/v1/payments/vnpay/ipn", params)
    if args.print_only:
        print(ipn)
        return 0
    try:
        with urllib.request.urlopen(ipn, timeout=10) as resp:  # noqa: S310 - the configured local API
            answer = json.loads(resp.read())
    except (urllib.error.URLError, ValueError) as err:
        print(f"imagify fake-vnpay: could not reach the IPN endpoint at {base}: {err}", file=sys.stderr)
        return 1
    print(f"IPN answer: {answer}")
    print(f"return URL: {callback_url(base, '/v1/payments/vnpay/return', params)}")
    return 0 if answer.get("RspCode") in ("00", "02") else 1
