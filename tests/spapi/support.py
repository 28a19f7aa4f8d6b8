"""Helpers shared by the SP-API client tests: Amazon's models, fakes and validators."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from jsonschema import Draft4Validator, FormatChecker

from tests.testdata import AMAZON_MODELS_DIR

ENDPOINT = "https://sellingpartnerapi-eu.amazon.com"
USER_AGENT = "AmazonOrderImport/0.1 (Language=Python/3.11; Platform=Linux)"
TOKEN_1 = "Atza|IwEBIFirstAccessTokenValue"
TOKEN_2 = "Atza|IwEBISecondAccessTokenValue"


def load_model(name: str) -> dict[str, Any]:
    return json.loads((AMAZON_MODELS_DIR / name).read_text(encoding="utf-8"))


class FakeTokens:
    """A token provider: TOKEN_1 until asked to force a refresh, then TOKEN_2."""

    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.current = TOKEN_1

    def __call__(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        if force_refresh:
            self.current = TOKEN_2
        return self.current


class RecordingSession(requests.Session):
    """A real session (so ``responses`` still intercepts) that keeps each call's kwargs."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append({"method": method, "url": url, **kwargs})
        return super().request(method, url, *args, **kwargs)


def sandbox_example(model: dict[str, Any], operation_id: str, status: str) -> dict[str, Any]:
    """The first ``x-amzn-api-sandbox`` static request/response pair of an operation."""
    operation = find_operation(model, operation_id)[2]
    return operation["responses"][status]["x-amzn-api-sandbox"]["static"][0]


def find_operation(model: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(METHOD, path template, operation object) for an operationId."""
    for path, operations in model["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return method.upper(), path, operation
    raise LookupError(operation_id)


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None  # Amazon wants an offset; we always send Z


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_datetime)
    return checker


def assert_body_valid(model: dict[str, Any], definition: str, body: Any) -> None:
    """Validate a JSON body against one of the model's definitions (Swagger 2 = draft 4)."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": model["definitions"]}
    Draft4Validator(schema, format_checker=_format_checker()).validate(body)


def assert_path_matches(model: dict[str, Any], operation_id: str, method: str, url: str) -> None:
    """The request's method and path are those of the operation in the model."""
    expected_method, template, _ = find_operation(model, operation_id)
    assert method == expected_method
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
    assert re.match(pattern, urlsplit(url).path), (urlsplit(url).path, template)


def assert_query_valid(model: dict[str, Any], operation_id: str, url: str) -> dict[str, str]:
    """Every query parameter is declared by the operation and its value fits the declaration
    (arrays comma-separated, enums, integer bounds, date-times). Returns the query."""
    _, _, operation = find_operation(model, operation_id)
    declared = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"repeated query parameter in {names}"
    query = dict(pairs)
    for name, value in query.items():
        assert name in declared, f"{name} is not a query parameter of {operation_id}"
        spec = declared[name]
        if spec["type"] == "array":
            items = value.split(",")
            assert spec.get("minItems", 1) <= len(items) <= spec.get("maxItems", 10**6)
            for item in items:
                assert item, f"empty item in {name}"
                if "enum" in spec["items"]:
                    assert item in spec["items"]["enum"], (name, item)
        elif spec["type"] == "integer":
            assert spec.get("minimum", -(10**9)) <= int(value) <= spec.get("maximum", 10**9)
        elif spec.get("format") == "date-time":
            assert _is_datetime(value), (name, value)
    for name, spec in declared.items():
        if spec.get("required"):
            assert name in query, f"{operation_id} requires {name}"
    return query
