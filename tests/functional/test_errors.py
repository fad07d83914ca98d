"""Every kind of bad request gets its status and the error envelope, never a 500."""

from __future__ import annotations

from typing import Any

from support.api import call, error_of


def test_malformed_json_is_400(client: Any, keys: dict) -> None:
    response = call(client, "POST", "/v1/events", key=keys["ingest"], raw=b'{"events": [')
    assert response.status_code == 400
    assert "not valid JSON" in error_of(response)["message"]


def test_non_utf8_is_400(client: Any, keys: dict) -> None:
    response = call(client, "POST", "/v1/events", key=keys["ingest"], raw=b'{"events": "\xff\xfe"}')
    assert response.status_code == 400
    assert "UTF-8" in error_of(response)["message"]


def test_empty_body_is_400(client: Any, keys: dict) -> None:
    response = call(client, "PUT", "/v1/reactions", key=keys["ingest"], raw=b"")
    assert response.status_code == 400


def test_body_over_one_megabyte_is_413(client: Any, keys: dict, tables: Any) -> None:
    raw = b'{"events": [' + b" " * (1024 * 1024) + b"]}"
    response = call(client, "POST", "/v1/events", key=keys["ingest"], raw=raw)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_deeply_nested_json_is_400(client: Any, keys: dict) -> None:
    raw = b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = call(client, "POST", "/v1/events", key=keys["ingest"], raw=raw)
    assert response.status_code == 400
    assert "nested" in error_of(response)["message"]


def test_json_that_is_not_an_object_is_422(client: Any, keys: dict) -> None:
    response = call(client, "POST", "/v1/events", key=keys["ingest"], body=[1, 2, 3])
    assert response.status_code == 422


def test_wrong_method_is_405_with_envelope(client: Any, keys: dict) -> None:
    response = call(client, "GET", "/v1/events", key=keys["ingest"])
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_unsupported_media_type_is_415_with_envelope(client: Any, keys: dict) -> None:
    response = call(
        client,
        "POST",
        "/v1/events",
        key=keys["ingest"],
        body={"events": []},
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
