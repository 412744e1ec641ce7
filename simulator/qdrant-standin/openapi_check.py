"""The Qdrant stand-in's conformance check: every request and answer against Qdrant's OpenAPI document.

A violation is never forgiven: the stand-in answers 500 with it (see server.py), so a test that
talks to the stand-in fails on the first request or answer the real Qdrant API would not have.
"""

import json
from pathlib import Path

from openapi_core import Config, OpenAPI
from openapi_core.exceptions import OpenAPIError
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.wrappers import Request, Response

DOCUMENT = Path(__file__).resolve().parents[2] / "test/fixtures/qdrant/openapi.json"


class Violation(Exception):
    """A request or answer that does not conform to Qdrant's OpenAPI document."""


def load_document(path: Path = DOCUMENT) -> OpenAPI:
    # The document is Qdrant's own and taken as valid: checking it as a spec takes seconds.
    return OpenAPI.from_dict(json.loads(path.read_text()), config=Config(spec_validator_cls=None))


def _describe(error: BaseException) -> str:
    """Every reason openapi-core gives, down to the JSON Schema messages with their paths."""
    lines = []
    cause: BaseException | None = error
    while cause is not None:
        lines.append(f"{type(cause).__name__}: {cause}")
        for schema_error in getattr(cause, "schema_errors", []) or []:
            where = "/".join(str(p) for p in schema_error.absolute_path)
            lines.append(f"  at /{where}: {schema_error.message}")
        cause = cause.__cause__
    return "\n".join(lines)


def check_request(document: OpenAPI, request: Request) -> None:
    # validate_*, not unmarshal_*: the same checks without building Python values (several times faster).
    try:
        document.validate_request(WerkzeugOpenAPIRequest(request))
    except OpenAPIError as error:
        raise Violation(f"request {request.method} {request.path} violates Qdrant's OpenAPI document:\n"
                        + _describe(error)) from error


def check_answer(document: OpenAPI, request: Request, answer: Response) -> None:
    try:
        document.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(answer))
    except OpenAPIError as error:
        raise Violation(f"answer {answer.status_code} to {request.method} {request.path} violates Qdrant's "
                        "OpenAPI document:\n" + _describe(error)) from error
