"""Property test of the HTTP API from its own OpenAPI document (schemathesis): whatever the
generated request, valid or not, the answer is never a server error (5xx).

Bounded: a few examples per operation, and the app's decision limit lowered so that a
generated request that happens to be valid runs a small Monte Carlo.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.generation.modes import GenerationMode

from chipswitch.web import create_app
from chipswitch.web.limits import Limits

# schemathesis's ASGI client addresses the app as "testserver"
APP = create_app(limits=Limits(max_samples=300, time_limit_s=60), allowed_hosts=("testserver",))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# valid requests and requests that break the schema on purpose (wrong types, missing fields)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
