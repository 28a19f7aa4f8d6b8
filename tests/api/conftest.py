"""Tokens, clients and the served OpenAPI schema for the API tests."""

from __future__ import annotations

import jsonschema
import pytest
from django.test import Client

from api.models import Scope
from api.services import create_token
from tests.orders.conftest import account, other_account  # noqa: F401 - fixtures

ALL_SCOPES = list(Scope.values)


def token_client(*scopes: str, accounts=(), name: str = "ERP") -> Client:
    """A test client that sends a new token with those scopes (all when none given)."""
    _, secret = create_token(
        name=name, scopes=scopes or ALL_SCOPES, accounts=accounts, acting_user=None
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


class Contract:
    """The OpenAPI schema the API serves; `check` validates a response against it."""

    def __init__(self, schema: dict) -> None:
        self.schema = schema

    def check(self, response, path: str, *, method: str = "get") -> dict | None:
        operation = self.schema["paths"][path][method]
        answer = operation["responses"][str(response.status_code)]
        content = answer.get("content", {})
        if "application/json" not in content:
            assert response["Content-Type"] in content, (response.status_code, content)
            return None
        body = response.json()
        validator = jsonschema.Draft202012Validator(
            {**content["application/json"]["schema"], "components": self.schema["components"]},
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        validator.validate(body)
        return body


@pytest.fixture
def contract(db) -> Contract:
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    return Contract(response.json())
