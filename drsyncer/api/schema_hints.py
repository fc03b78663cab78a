"""Extra OpenAPI facts for the CRD generator that pydantic's own constraints do not carry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenAPI:
    """Attached with `Annotated[...]`; copied into the field's CRD schema."""

    # checked by the API server too, so `kubectl apply` fails early (drsyncer's own check stays the
    # authority and gives the better message)
    pattern: str | None = None
    # a list merged by these keys under server-side apply (conditions by `type`)
    list_map_keys: tuple[str, ...] = ()
