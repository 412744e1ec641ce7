"""The real Qdrant engine (qdrant-edge-py) behind the stand-in: one EdgeShard per collection.

Translates the REST bodies the adapter sends (already checked against Qdrant's OpenAPI document)
into qdrant_edge calls, and the engine's results back into REST results. Only the shapes the
adapter uses are translated; anything else is refused as NotServed, never guessed at.
"""

import shutil
import uuid
from pathlib import Path
from typing import Any

import qdrant_edge as edge


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


class NotServed(Exception):
    """A valid Qdrant request that the stand-in does not implement (the adapter never sends it)."""


DISTANCES = {"Cosine": edge.Distance.Cosine, "Dot": edge.Distance.Dot, "Euclid": edge.Distance.Euclid}


def _point_id(value: Any) -> str | int:
    return str(value) if isinstance(value, uuid.UUID) else value


def _condition(condition: dict[str, Any]) -> Any:
    if any(key in condition for key in ("must", "should", "must_not")):
        return _filter(condition)
    if set(condition) == {"key", "match"}:
        match = condition["match"]
        if set(match) == {"value"}:
            return edge.FieldCondition(key=condition["key"], match=edge.MatchValue(match["value"]))
        if set(match) == {"any"}:
            return edge.FieldCondition(key=condition["key"], match=edge.MatchAny(match["any"]))
    raise NotServed(f"filter condition {condition!r}")


def _conditions(value: Any) -> list[Any] | None:
    if value is None:
        return None
    return [_condition(c) for c in (value if isinstance(value, list) else [value])]


def _filter(body: dict[str, Any] | None) -> Any:
    if body is None:
        return None
    if body.get("min_should") is not None:
        raise NotServed("min_should")
    return edge.Filter(
        must=_conditions(body.get("must")),
        should=_conditions(body.get("should")),
        must_not=_conditions(body.get("must_not")),
    )


def _index_schema(schema: Any) -> Any:
    if schema == "keyword":
        return edge.PayloadSchemaType.Keyword
    if isinstance(schema, dict) and schema.get("type") == "keyword" and set(schema) <= {"type", "is_tenant"}:
        return edge.KeywordIndexParams(is_tenant=schema.get("is_tenant"))
    raise NotServed(f"field schema {schema!r}")


def _with_payload(value: Any) -> bool:
    if not isinstance(value, bool):
        raise NotServed(f"with_payload {value!r}")
    return value


class Engine:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.shards: dict[str, edge.EdgeShard] = {}

    def _shard(self, name: str) -> edge.EdgeShard:
        if name not in self.shards:
            raise NotFound(f"Collection `{name}` doesn't exist!")
        return self.shards[name]

    def collection_names(self) -> list[str]:
        return sorted(self.shards)

    def exists(self, name: str) -> bool:
        return name in self.shards

    def create_collection(self, name: str, body: dict[str, Any]) -> None:
        if name in self.shards:
            raise Conflict(f"Collection `{name}` already exists!")
        vectors = body.get("vectors")
        if not isinstance(vectors, dict) or set(vectors) != {"size", "distance"}:
            raise NotServed(f"vectors {vectors!r}: only one unnamed dense vector")
        path = self.data_dir / name
        shutil.rmtree(path, ignore_errors=True)
        config = edge.EdgeConfig(vectors=edge.EdgeVectorParams(size=vectors["size"], distance=DISTANCES[vectors["distance"]]))
        self.shards[name] = edge.EdgeShard.create(str(path), config)

    def create_index(self, name: str, body: dict[str, Any]) -> None:
        operation = edge.UpdateOperation.create_field_index(body["field_name"], _index_schema(body.get("field_schema")))
        self._shard(name).update(operation)

    def upsert(self, name: str, body: dict[str, Any]) -> None:
        if "points" not in body:
            raise NotServed("points as a batch")
        points = [edge.Point(p["id"], p["vector"], p.get("payload")) for p in body["points"]]
        self._shard(name).update(edge.UpdateOperation.upsert_points(points, condition=_filter(body.get("update_filter"))))

    def query(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        vector = body.get("query")
        if not isinstance(vector, list):
            raise NotServed(f"query {vector!r}: only a dense vector")
        hits = self._shard(name).query(edge.QueryRequest(
            limit=body.get("limit", 10),
            query=edge.Query.Nearest(vector),
            filter=_filter(body.get("filter")),
            score_threshold=body.get("score_threshold"),
            with_payload=_with_payload(body.get("with_payload", False)),
            with_vector=False,
        ))
        return {"points": [
            {"id": _point_id(h.id), "version": h.version, "score": h.score, "payload": h.payload} for h in hits
        ]}

    def scroll(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("with_vector"):
            raise NotServed("with_vector")
        records, next_offset = self._shard(name).scroll(edge.ScrollRequest(
            offset=body.get("offset"),
            limit=body.get("limit", 10),
            filter=_filter(body.get("filter")),
            with_payload=_with_payload(body.get("with_payload", True)),
            with_vector=False,
        ))
        return {
            "points": [{"id": _point_id(r.id), "payload": r.payload} for r in records],
            "next_page_offset": None if next_offset is None else _point_id(next_offset),
        }

    def count(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        count = self._shard(name).count(edge.CountRequest(exact=body.get("exact", True), filter=_filter(body.get("filter"))))
        return {"count": count}

    def delete(self, name: str, body: dict[str, Any]) -> None:
        if "filter" not in body:
            raise NotServed("delete by point ids")
        self._shard(name).update(edge.UpdateOperation.delete_points_by_filter(_filter(body["filter"])))

    def close(self) -> None:
        for shard in self.shards.values():
            shard.close()
