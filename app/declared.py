"""What a route tells the OpenAPI document when its handler reads the request by hand.

Most routes are described by FastAPI from their signature: a pydantic body, a dependency
carrying a `SecurityRequirement` (`app.deps`). Some read their body themselves (an OAuth
form, an OpenID4VCI request, a multipart upload, items parsed one by one) or check their own
bearer token, because they must answer in their protocol's error format. They declare the
same facts here, and `app.openapi` writes them into the document like any other:

- `request_body(...)` is a route's `openapi_extra`: the body's media types, each with the
  pydantic model that describes it; the models' schemas are carried along under
  `DECLARED_SCHEMAS` and `app.openapi` moves them into `components.schemas`;
- `Declares(requirement)` is a dependency that checks nothing and carries `.security`, for a
  route that checks the token itself.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from app.deps import SecurityRequirement

# The operation's member that carries the declared models' schemas to `app.openapi`
# (removed from the document once they are moved into its components).
DECLARED_SCHEMAS: Final = "x-lattice-schemas"
COMPONENT_REF: Final = "#/components/schemas/{model}"
# The OpenID4VCI access token of `POST /oid4vci/token`, good for one offer's credential.
OID4VCI_BEARER: Final = "Oid4vciAccessToken"


def request_body(content: dict[str, type[BaseModel]], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` declaring a body of each media type in `content`, described by its
    model (a component named after the model)."""
    schemas: dict[str, Any] = {}
    for model in content.values():
        schemas.update(component_schemas(model))
    return {
        "requestBody": {
            "required": required,
            "content": {
                media_type: {"schema": {"$ref": COMPONENT_REF.format(model=model.__name__)}}
                for media_type, model in content.items()
            },
        },
        DECLARED_SCHEMAS: schemas,
    }


def component_schemas(model: type[BaseModel]) -> dict[str, Any]:
    """The model's schema and those of the models it refers to, by component name."""
    schema = model.model_json_schema(ref_template=COMPONENT_REF, by_alias=True)
    nested: dict[str, Any] = schema.pop("$defs", {})
    return {**nested, model.__name__: schema}


class Declares:
    """`Depends(Declares(requirement))`: the route checks this token itself; this only tells
    the OpenAPI document (and so its clients) which one."""

    def __init__(self, requirement: SecurityRequirement) -> None:
        self.security = requirement

    async def __call__(self) -> None:
        return None
