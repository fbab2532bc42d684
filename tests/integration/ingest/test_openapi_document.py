"""The OpenAPI document without a server: every example is a valid body of its model, every route documents its
refusals with the error body."""

from pathlib import Path

import pytest
from pydantic import BaseModel

from ingest import schemas
from ingest.app import create_app
from projections.data_dir import DataDir

MODELS = [
    model
    for model in vars(schemas).values()
    if isinstance(model, type) and issubclass(model, BaseModel) and model.model_config.get("json_schema_extra")
]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_example_in_the_document_is_a_valid_body(model: type[BaseModel]) -> None:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    for example in extra["examples"]:
        model.model_validate(example)


def test_every_operation_documents_its_refusals_with_the_error_body(tmp_path: Path) -> None:
    document = create_app(DataDir(root=tmp_path)).openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert {"400", "413", "422", "503"} <= statuses, (method, path)
            if path != "/health":
                assert {"401", "403"} <= statuses, (method, path)
                assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            for status in statuses - {"200", "201"}:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def test_every_request_and_response_body_is_a_named_model_with_an_example(tmp_path: Path) -> None:
    document = create_app(DataDir(root=tmp_path)).openapi()
    components = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("200", "201"):
                if status in operation["responses"]:
                    ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                    assert "examples" in components[ref.rsplit("/", 1)[1]], (method, path, status)
            if "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]
                name = ref["$ref"].rsplit("/", 1)[1] if "$ref" in ref else ref["anyOf"][0]["$ref"].rsplit("/", 1)[1]
                assert components[name]["additionalProperties"] is False, (method, path)
