"""The API's OpenAPI 3.1 document, built from the routes an app declared with ``Api.route``."""

from __future__ import annotations

from learnloop.api.openapi.document import ERROR_SCHEMA, build_document

__all__ = ["ERROR_SCHEMA", "build_document"]
