"""Extra OpenAPI facts for the CRD generator that pydantic's own constraints do not carry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenAPI:
    """Attached with `Annotated[...]`; copied into the field's CRD schema as written."""

    pattern: str | None = None
    format: str | None = None
    # a free-form object: the API server keeps whatever is inside
    preserve_unknown_fields: bool = False
    # a list merged by these keys under server-side apply (conditions by `type`)
    list_map_keys: tuple[str, ...] = ()
