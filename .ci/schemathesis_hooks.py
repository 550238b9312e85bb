"""A schemathesis check for Staffel's caseworker API (run by .ci/schemathesis).

A request that is valid for the OpenAPI document must never be refused for its shape: the
document says everything the API checks about the form of a request. Refusals for domain rules
(a date in the future, a person not yet 18, a window that ended, ...) are fine; a refusal with a
shape problem type is a mismatch between the document and the code.
"""
import schemathesis

SHAPE = {
    "urn:staffel:problem:validation-failed",
    "urn:staffel:problem:not-i-json",
    "urn:staffel:problem:unsupported-media-type",
}

@schemathesis.check
def well_formed_requests_are_not_refused_for_their_shape(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code in (400, 415, 422):
        try:
            body = response.json()
        except Exception:
            body = {}
        if isinstance(body, dict) and body.get("type") in SHAPE:
            raise AssertionError(f"refused for its shape: {body.get('type')}: {body.get('detail')}")
    return None
