"""What makes the OpenAPI description say what the services accept and answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

# Litestar exports its Struct schema plugin only from a private module (pinned below 3).
from litestar._openapi.schema_generation.plugins import StructSchemaPlugin
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator


class StrictStructs(StructSchemaPlugin):
    """Litestar's schema of a msgspec Struct, closed (`additionalProperties: false`) when
    the Struct forbids unknown fields: such a body with an extra member gets 400."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


@dataclass
class PageToo(Operation):
    """The description of a route that answers a browser (Accept: text/html) with a page
    and anyone else with JSON (`-> Questionnaire | Template`): its success and 404 are
    described as text/html too. Use as the handler's `operation_class`."""

    def __post_init__(self) -> None:
        for status, response in (self.responses or {}).items():
            if status in ("200", "404") and isinstance(response, OpenAPIResponse):
                content = response.content = dict(response.content or {})
                as_json = content.get("application/json")
                union = as_json.schema if as_json is not None else None
                if as_json is not None and isinstance(union, Schema) and union.one_of:
                    # The Template in the union is described as `{}`, which any JSON matches
                    # (so a `oneOf` with it never holds): the page is the text/html below.
                    rest = [s for s in union.one_of if s != Schema()]
                    as_json.schema = rest[0] if len(rest) == 1 else Schema(one_of=rest)
                content["text/html"] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
