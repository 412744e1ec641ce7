"""The Qdrant stand-in: a small REST layer over the real Qdrant engine (qdrant-edge-py).

No registry ships the Qdrant server, so the tests of the Qdrant vector-store adapter talk to this
instead. It serves only the endpoints the adapter calls (activities/vectors/qdrant-adapter.ts),
and checks every request and every answer against Qdrant's published OpenAPI document
(test/fixtures/qdrant/openapi.json): a violation is answered with 500 and the violation's text.

    usage: server.py --data-dir DIR [--port 0]

Prints `listening on http://127.0.0.1:PORT` once it accepts connections, and exits when its
standard input closes, so it dies with the test run that started it.
"""

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from engine import Conflict, Engine, NotFound, NotServed
from openapi_check import Violation, check_answer, check_request, load_document

ROUTES = Map([
    Rule("/collections", methods=["GET"], endpoint="list_collections"),
    Rule("/collections/<name>", methods=["PUT"], endpoint="create_collection"),
    Rule("/collections/<name>/exists", methods=["GET"], endpoint="collection_exists"),
    Rule("/collections/<name>/index", methods=["PUT"], endpoint="create_index"),
    Rule("/collections/<name>/points", methods=["PUT"], endpoint="upsert"),
    Rule("/collections/<name>/points/query", methods=["POST"], endpoint="query"),
    Rule("/collections/<name>/points/scroll", methods=["POST"], endpoint="scroll"),
    Rule("/collections/<name>/points/count", methods=["POST"], endpoint="count"),
    Rule("/collections/<name>/points/delete", methods=["POST"], endpoint="delete"),
])

COMPLETED = {"operation_id": 0, "status": "completed"}


def _handlers(engine: Engine) -> dict[str, Callable[..., Any]]:
    def create_collection(name: str, body: dict[str, Any]) -> bool:
        engine.create_collection(name, body)
        return True

    def create_index(name: str, body: dict[str, Any]) -> dict[str, Any]:
        engine.create_index(name, body)
        return COMPLETED

    def upsert(name: str, body: dict[str, Any]) -> dict[str, Any]:
        engine.upsert(name, body)
        return COMPLETED

    def delete(name: str, body: dict[str, Any]) -> dict[str, Any]:
        engine.delete(name, body)
        return COMPLETED

    return {
        "list_collections": lambda body: {"collections": [{"name": n} for n in engine.collection_names()]},
        "create_collection": create_collection,
        "collection_exists": lambda name, body: {"exists": engine.exists(name)},
        "create_index": create_index,
        "upsert": upsert,
        "query": engine.query,
        "scroll": engine.scroll,
        "count": engine.count,
        "delete": delete,
    }


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(status: int, message: str, started: float) -> Response:
    # Qdrant's ErrorResponse shape.
    return _json(status, {"status": {"error": message}, "time": time.monotonic() - started})


class StandIn:
    def __init__(self, engine: Engine):
        self.document = load_document()
        self.handlers = _handlers(engine)
        # One request at a time: the engine's shards are not shared between threads.
        self.lock = threading.Lock()

    def answer(self, request: Request, started: float) -> Response:
        try:
            check_request(self.document, request)
        except Violation as violation:
            return _error(500, f"Qdrant stand-in: {violation}", started)
        try:
            endpoint, args = ROUTES.bind_to_environ(request.environ).match()
        except HTTPException:
            return _error(501, f"Qdrant stand-in: {request.method} {request.path} is not served", started)
        body = request.get_json(silent=True) if request.data else {}
        try:
            with self.lock:
                result = self.handlers[endpoint](**args, body=body)
        except NotFound as err:
            return _error(404, f"Not found: {err}", started)
        except Conflict as err:
            return _error(409, f"Wrong input: {err}", started)
        except NotServed as err:
            return _error(501, f"Qdrant stand-in: not served: {err}", started)
        except Exception as err:  # the engine's own refusal, as Qdrant reports it
            return _error(400, f"Wrong input: {err}", started)
        return _json(200, {"result": result, "status": "ok", "time": time.monotonic() - started})

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.monotonic()
        request = Request(environ)
        answer = self.answer(request, started)
        try:
            check_answer(self.document, request, answer)
        except Violation as violation:
            answer = _error(500, f"Qdrant stand-in: {violation}", started)
        if answer.status_code == 500:
            print(answer.get_data(as_text=True), file=sys.stderr, flush=True)
        return answer(environ, start_response)


def _exit_when_stdin_closes() -> None:
    sys.stdin.read()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    server = make_server("127.0.0.1", args.port, StandIn(Engine(args.data_dir)), threaded=True)
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
