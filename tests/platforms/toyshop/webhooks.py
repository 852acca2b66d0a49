"""The toy shop's deliveries: hex HMAC-SHA256 of the body in `X-Toyshop-Signature`, the topic in
`X-Toyshop-Topic`, the order's id, modification moment, status and lines as JSON."""

from __future__ import annotations

from tests.fakes import FakeWebhooks

WEBHOOKS = FakeWebhooks(prefix="X-Toyshop")
