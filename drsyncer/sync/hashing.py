"""The source hash: a digest of the object drsyncer would write, stored on the written object.

A resync compares the digest of the newly transformed object with the one stored in the
destination; equal digests mean there is nothing to write. The digest covers the transformed
object (with the Replication's rules applied and the ownership marks), so a change of rules
changes it too. The `synced-from` record (drsyncer.sync.provenance) is written after the hash and
is not part of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.objects import Obj

_UNHASHED = frozenset({keys.ANNOTATION_SOURCE_HASH, keys.ANNOTATION_SYNCED_FROM})


def source_hash(body: Mapping[str, Any], salt: str = "") -> str:
    """SHA-256 of canonical JSON (sorted keys, no whitespace), ignoring the hash annotation itself and
    the synced-from record.

    `salt`: settings that shape the copy without showing in it (the plugins' parameters,
    `drsyncer.plugins.chain.fingerprint`), so changing them rewrites the copies; "" adds nothing,
    which keeps the hash of copies written without plugins as it was.
    """
    meta = body.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if keys.ANNOTATION_SOURCE_HASH in annotations or keys.ANNOTATION_SYNCED_FROM in annotations:
        # copy only the two levels on the way to the annotation, never the whole object
        annotations = {k: v for k, v in annotations.items() if k not in _UNHASHED}
        body = {**body, "metadata": {**meta, "annotations": annotations}}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if salt:
        canonical += "\n" + salt
    return hashlib.sha256(canonical.encode()).hexdigest()


def stamp(body: Obj, salt: str = "") -> str:
    """Compute the hash (`source_hash`) and write it into `body`'s annotations (which `body` must own);
    returns it."""
    digest = source_hash(body, salt)
    body.setdefault("metadata", {}).setdefault("annotations", {})[keys.ANNOTATION_SOURCE_HASH] = digest
    return digest
