"""The live view: :mod:`realtime.live.server` (stdlib HTTP) serves ``page.html`` and the live store's figures."""
