"""A Serve application that passes for an OpenAI-compatible model server (its /v1/models lists the
model) but answers every inference request with a 500: the new version whose rollout must fail its
gates and roll back. Cheap to deploy (seconds, no model)."""
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse


@serve.deployment
class BrokenModel:
    def __init__(self, model_id: str):
        self.model_id = model_id

    async def __call__(self, request: Request) -> JSONResponse:
        if request.url.path.endswith("/v1/models"):
            return JSONResponse({"object": "list", "data": [{"id": self.model_id, "object": "model"}]})
        return JSONResponse(
            {"error": {"message": "this version is broken", "type": "server_error"}}, status_code=500
        )


def app(args: dict):
    return BrokenModel.bind(args["model_id"])
