"""A Serve application that answers its `text` argument: cheap to deploy (seconds, no model), for
the tests of the cluster's writer."""
from ray import serve
from starlette.requests import Request


@serve.deployment
class Echo:
    def __init__(self, text: str):
        self.text = text

    async def __call__(self, request: Request) -> str:
        return self.text


def app(args: dict):
    return Echo.bind(args.get("text", "echo"))
