"""Which resources a cluster serves, read from its discovery endpoints and cached for a while.

Names resolve the way kubectl resolves them: plural, singular, kind or short name, any case, with an
optional `.group` (`widgets.example.com`, `deployments.apps`), and `"*"` for every namespaced,
listable resource except those drsyncer/api/resource_types.py leaves out of it. A miss refreshes the
cache (rate-limited), so a CRD created a moment ago resolves.

Discovery is read as one aggregated document per root (`/api`, `/apis`: `APIGroupDiscoveryList`,
apidiscovery.k8s.io/v2, GA in Kubernetes 1.30) where the server offers it, else by walking every
group version (`APIVersions`/`APIGroupList`, then one `APIResourceList` each); the Accept header asks
for either, so a server without aggregated discovery costs no extra request. A `SharedDiscovery`
(drsyncer.kube.discovery_cache) lets every process of a fleet reuse one process's reading.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from drsyncer.api.builtin_kinds import BuiltinKind
from drsyncer.api.resource_types import BUILTIN_GROUPS, find_builtin, in_wildcard, is_wildcard
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube.errors import NotServed


@dataclass(frozen=True)
class ResourceRef:
    """One served resource type: enough to build its URLs and recognise its objects."""

    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: frozenset[str] = field(default=frozenset(), compare=False)
    subresources: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def names(self) -> tuple[str, ...]:
        return (self.plural, self.singular or self.kind.lower(), self.kind.lower(), *self.short_names)

    @classmethod
    def from_builtin(cls, kind: BuiltinKind) -> ResourceRef:
        subresources = {"status"} if kind.status_subresource else set()
        if kind.scale_subresource:
            subresources.add("scale")
        return cls(
            kind.group,
            kind.version,
            kind.kind,
            kind.plural,
            kind.namespaced,
            kind.singular,
            kind.short_names,
            frozenset({"get", "list", "create", "update", "patch", "delete", "watch"}),
            frozenset(subresources),
        )


def parse_resource_list(group_version: str, body: Mapping[str, Any]) -> list[ResourceRef]:
    """ResourceRefs from one `APIResourceList` (the body of `/api/v1` or `/apis/<group>/<version>`)."""
    group, _, version = group_version.rpartition("/")
    resources = [r for r in body.get("resources") or [] if isinstance(r, Mapping)]
    subresources: dict[str, set[str]] = {}
    for res in resources:
        name = str(res.get("name", ""))
        if "/" in name:
            parent, _, sub = name.partition("/")
            subresources.setdefault(parent, set()).add(sub)
    refs = []
    for res in resources:
        name = str(res.get("name", ""))
        if not name or "/" in name:
            continue
        refs.append(
            ResourceRef(
                group=group,
                version=version,
                kind=str(res.get("kind", "")),
                plural=name,
                namespaced=bool(res.get("namespaced")),
                singular=str(res.get("singularName") or ""),
                short_names=tuple(str(s) for s in res.get("shortNames") or ()),
                verbs=frozenset(str(v) for v in res.get("verbs") or ()),
                subresources=frozenset(subresources.get(name, ())),
            )
        )
    return refs


# the Accept of a discovery root request: aggregated discovery (apidiscovery.k8s.io/v2) when served,
# else the plain document (k8s.io/apiserver pkg/endpoints/discovery/aggregated wrapper.go and
# negotiation.go, 1.34: a server without it ignores the first media type and answers the second)
AGGREGATED_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
AGGREGATED_KIND = "APIGroupDiscoveryList"


def is_aggregated(body: Mapping[str, Any]) -> bool:
    """Whether a discovery root's answer is an aggregated document (`APIGroupDiscoveryList`, v2)."""
    return body.get("kind") == AGGREGATED_KIND and str(body.get("apiVersion", "")).endswith("/v2")


def parse_aggregated(body: Mapping[str, Any]) -> tuple[list[ResourceRef], list[str]]:
    """(ResourceRefs, preferred group versions) from one `APIGroupDiscoveryList`.

    Shape (k8s.io/api apidiscovery/v2 types.go, 1.34): `items[]` are groups (`metadata.name`, "" for
    the core group), each with `versions[]` in preference order (the first is preferred), each with
    `resources[]`: `resource` (plural), `responseKind.kind`, `scope` ("Namespaced"/"Cluster"),
    `singularResource`, `shortNames`, `verbs`, `subresources[].subresource`. A version marked
    `freshness: Stale` (its aggregated API server not answering) is kept with what it last served;
    the per-group walk fails on such a group version's 503 instead.
    """
    refs: list[ResourceRef] = []
    preferred: list[str] = []
    for item in body.get("items") or []:
        if not isinstance(item, Mapping):
            continue
        group = str((item.get("metadata") or {}).get("name") or "")
        versions = [v for v in item.get("versions") or [] if isinstance(v, Mapping) and v.get("version")]
        if versions:
            first = str(versions[0]["version"])
            preferred.append(f"{group}/{first}" if group else first)
        for entry in versions:
            version = str(entry["version"])
            for res in entry.get("resources") or []:
                plural = str(res.get("resource") or "") if isinstance(res, Mapping) else ""
                if not plural:
                    continue
                subs = (s.get("subresource") for s in res.get("subresources") or () if isinstance(s, Mapping))
                refs.append(
                    ResourceRef(
                        group=group,
                        version=version,
                        kind=str((res.get("responseKind") or {}).get("kind") or ""),
                        plural=plural,
                        namespaced=res.get("scope") == "Namespaced",
                        singular=str(res.get("singularResource") or ""),
                        short_names=tuple(str(n) for n in res.get("shortNames") or ()),
                        verbs=frozenset(str(v) for v in res.get("verbs") or ()),
                        subresources=frozenset(str(s) for s in subs if s),
                    )
                )
    return refs, preferred


@dataclass(frozen=True)
class ServedResources:
    """A snapshot of discovery: every served resource, preferred versions first."""

    refs: tuple[ResourceRef, ...]
    preferred: frozenset[str]  # group versions the server prefers, e.g. "apps/v1", "v1"
    # name (lowercase) → refs answering to it, and resolutions made: a snapshot is asked the same few
    # names by every task of a process, so each is worked out once
    _by_name: dict[str, list[ResourceRef]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _resolved: dict[str, list[ResourceRef]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for ref in self.refs:
            for name in dict.fromkeys(ref.names()):
                self._by_name.setdefault(name, []).append(ref)

    def _group_rank(self, ref: ResourceRef) -> int:
        # kubectl's order for an ambiguous short name: core, then built-in groups, then the rest
        if ref.group == "":
            return 0
        return 1 if ref.group in BUILTIN_GROUPS else 2

    def candidates(self, name: str) -> list[ResourceRef]:
        """Refs `name` may mean, the one kubectl would pick first; [] when none."""
        found = self._resolved.get(name)
        if found is None:
            found = self._resolved[name] = self._candidates(name)  # a benign race: same answer
        return list(found)

    def _candidates(self, name: str) -> list[ResourceRef]:
        lowered = name.strip().lower()
        matches = list(self._by_name.get(lowered, ()))
        if not matches and "." in lowered:
            # `plural.group`, `kind.group` or `plural.version.group`
            head, _, group = lowered.partition(".")
            matches = [r for r in self.refs if r.group == group and head in r.names()]
            if not matches and "." in group:
                version, _, group = group.partition(".")
                matches = [
                    r for r in self.refs if r.group == group and r.version == version and head in r.names()
                ]
        return sorted(matches, key=lambda r: (r.api_version not in self.preferred, self._group_rank(r)))

    def close_names(self, name: str) -> list[str]:
        """Served names spelled like `name` (a typo's likely meaning), plural or `plural.group`."""
        spellings = {
            (r.plural if not r.group or r.group in BUILTIN_GROUPS else r.group_resource): r for r in self.refs
        }
        spellings.update({r.group_resource: r for r in self.refs if r.group})
        return difflib.get_close_matches(name.strip().lower(), list(spellings), n=2, cutoff=0.75)

    def for_kind(self, api_version: str, kind: str) -> ResourceRef | None:
        for ref in self.refs:
            if ref.api_version == api_version and ref.kind == kind:
                return ref
        return None

    def all_namespaced(self) -> list[ResourceRef]:
        """Every namespaced resource that can be listed and created, one version per group."""
        seen: set[tuple[str, str]] = set()
        out = []
        for ref in sorted(self.refs, key=lambda r: r.api_version not in self.preferred):
            if not ref.namespaced or not {"list", "create"} <= ref.verbs:
                continue
            if (ref.group, ref.plural) in seen:
                continue
            seen.add((ref.group, ref.plural))
            out.append(ref)
        return out

    def wildcard(self) -> list[ResourceRef]:
        """What `"*"` stands for: `all_namespaced` less the types `in_wildcard` leaves out."""
        return [r for r in self.all_namespaced() if in_wildcard(r.group, r.plural)]


def read_served_resources(
    get_json: Callable[[str], Mapping[str, Any]],
    get_root: Callable[[str], Mapping[str, Any]] | None = None,
) -> ServedResources:
    """Every served resource, read with `get_json(path)`.

    `get_root(path)` reads `/api` and `/apis` (default `get_json`); sent with `AGGREGATED_ACCEPT` it
    gets aggregated discovery where served: 2 requests in all. A root answering the plain document
    (`APIVersions`/`APIGroupList`: a server before 1.30, or one ignoring the Accept) is walked:
    one more request per group version.
    """
    root = get_root or get_json
    refs: list[ResourceRef] = []
    preferred: set[str] = set()
    for path, walk in (("/api", _walk_core), ("/apis", _walk_groups)):
        document = root(path)
        if is_aggregated(document):
            found, found_preferred = parse_aggregated(document)
            refs.extend(found)
            preferred.update(found_preferred)
        else:
            walk(get_json, document, refs, preferred)
    return ServedResources(tuple(refs), frozenset(preferred))


def _walk_core(
    get_json: Callable[[str], Mapping[str, Any]],
    core: Mapping[str, Any],
    refs: list[ResourceRef],
    preferred: set[str],
) -> None:
    core_versions = [str(v) for v in core.get("versions") or []]
    if core_versions:
        preferred.add(core_versions[0])
    for version in core_versions:
        refs.extend(parse_resource_list(version, get_json(f"/api/{version}")))


def _walk_groups(
    get_json: Callable[[str], Mapping[str, Any]],
    groups: Mapping[str, Any],
    refs: list[ResourceRef],
    preferred: set[str],
) -> None:
    for group in groups.get("groups") or []:
        pref = (group.get("preferredVersion") or {}).get("groupVersion")
        if pref:
            preferred.add(str(pref))
        for version in group.get("versions") or []:
            gv = str(version.get("groupVersion", ""))
            if gv:
                refs.extend(parse_resource_list(gv, get_json(f"/apis/{gv}")))


class SharedDiscovery(Protocol):
    """Discovery of one cluster kept where other processes see it (drsyncer.kube.discovery_cache)."""

    def load(self, max_age_s: float) -> tuple[ServedResources, float] | None:
        """The kept snapshot and its age in seconds, if at most `max_age_s` old; None: read the server
        (there is none that young, or it cannot be read); may wait while another process reads it."""

    def peek(self, max_age_s: float) -> tuple[ServedResources, float] | None:
        """As `load`, but only what is kept now: never waits, never asks this process to read."""

    def save(self, served: ServedResources) -> None:
        """Keep `served` (read just now) for the other processes; failures are not raised."""

    def abandon(self) -> None:
        """Reading the server failed after `load` returned None: others need not wait for a copy."""


# a snapshot read this recently is the server's answer now: a miss in it reads nothing more
_FRESH_S = 0.05


class Discovery:
    """The cached discovery of one cluster; thread-safe.

    `get_root` reads the discovery roots (`read_served_resources`). With `shared`, a snapshot another
    process read less than `ttl_s` ago is used instead of reading the server, and a reading made
    here is shared; a name not found still reads the server (the first time it is missed, unless the
    snapshot was read just now; after that at most every `miss_refresh_s`) unless the shared
    snapshot is already that recent.
    """

    def __init__(
        self,
        get_json: Callable[[str], Mapping[str, Any]],
        *,
        cluster: str = "",
        ttl_s: float = 300.0,
        miss_refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        get_root: Callable[[str], Mapping[str, Any]] | None = None,
        shared: SharedDiscovery | None = None,
    ) -> None:
        self._get_json = get_json
        self._get_root = get_root
        self._shared = shared
        self._cluster = cluster
        self._ttl = ttl_s
        self._miss_refresh = miss_refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._served: ServedResources | None = None
        self._fetched_at = 0.0
        self._skip_shared = False
        self._missed: dict[str, bool] = {}  # names missed again after a read made for them

    def invalidate(self) -> None:
        """Forget the snapshot: the next look reads the server (not the shared copy, which is as old)."""
        with self._lock:
            self._served = None
            self._skip_shared = True

    def served(self, *, max_age_s: float | None = None) -> ServedResources:
        limit = self._ttl if max_age_s is None else max_age_s
        with self._lock:
            if self._served is not None and self._clock() - self._fetched_at <= limit:
                return self._served
            # holding the lock while fetching: concurrent callers wait for one walk, not many
            if self._shared is not None and not self._skip_shared:
                kept = self._shared.load(limit)
                if kept is not None and kept[1] <= limit:
                    return self._keep(kept)
            try:
                self._served = read_served_resources(self._get_json, self._get_root)
            except BaseException:
                if self._shared is not None:
                    self._shared.abandon()  # the others read the server themselves, not wait
                raise
            self._fetched_at = self._clock()
            self._skip_shared = False
            if self._shared is not None:
                self._shared.save(self._served)
            return self._served

    def load_shared(self) -> bool:
        """Take the shared snapshot when it is younger than the TTL; never reads the server. True when
        a snapshot is held afterwards (a process getting ready before its first task)."""
        with self._lock:
            if self._served is not None and self._clock() - self._fetched_at <= self._ttl:
                return True
            if self._shared is None or self._skip_shared:
                return False
            kept = self._shared.peek(self._ttl)
            if kept is None:
                return False
            self._keep(kept)
            return True

    def _keep(self, kept: tuple[ServedResources, float]) -> ServedResources:
        """Hold a shared snapshot `(served, age in seconds)` as if read `age` ago (lock held)."""
        self._served, self._fetched_at = kept[0], self._clock() - kept[1]
        return kept[0]

    def _lookup(self, name: str, find: Callable[[ServedResources], list[ResourceRef]]) -> list[ResourceRef]:
        """`find` in the snapshot; on a miss, in a newer one: younger than `miss_refresh_s`, or, the
        first time `name` is missed, younger than the snapshot it was missed in however young that
        is. A type starts being served whenever its CRD is established: a snapshot read a second
        before that, and the sync-now sent right after, would otherwise fail the run for a type the
        cluster serves. A name that stays missing is read for again only every `miss_refresh_s`."""
        found = find(self.served())
        if found:
            self._missed.pop(name, None)
            return found
        with self._lock:
            age = self._clock() - self._fetched_at
        newer = self._miss_refresh
        if name not in self._missed and _FRESH_S < age <= self._miss_refresh:
            newer = age - _FRESH_S
        found = find(self.served(max_age_s=newer))
        if found:
            self._missed.pop(name, None)
        else:
            self._missed[name] = True
        return found

    def resolve(self, name: str) -> ResourceRef:
        """The resource a user's name means (plural, singular, kind, short name, `name.group`)."""
        found = self._lookup(name, lambda s: s.candidates(name))
        if not found:
            where = f" by cluster {self._cluster}" if self._cluster else ""
            close = self.served().close_names(name)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            # a type can start being served at any time (a CRD being installed): the next run may succeed
            raise NotServed(f"resource type {name!r} is not served{where}{hint}", cluster=self._cluster)
        return found[0]

    def resolve_many(self, names: Iterable[str]) -> list[ResourceRef]:
        """Resolve each name, `"*"` standing for `ServedResources.wildcard()`; duplicates dropped.

        The one expansion of `resourceTypes` (and `drsyncer sync --types`): the workers sync and
        Continuous mode watches exactly these. Raises `NotServed` (WaitForNextSync) for a name not
        served, and `CategorisedError` (NonRetryable) for a name the cluster serves as cluster-scoped:
        a sync copies the objects of namespaces, and writing a cluster-wide type (a ClusterRole, a
        PriorityClass, a custom ClusterIssuer) from one would overwrite what every namespace of the
        destination shares. The offline check of `resourceTypes` knows the built-ins only; the
        cluster's discovery is what knows a custom type's scope.
        """
        out: list[ResourceRef] = []
        for name in names:
            refs = self.served().wildcard() if is_wildcard(name) else [self.resolve(name)]
            for ref in refs:
                if not ref.namespaced:
                    where = f" by cluster {self._cluster}" if self._cluster else ""
                    group_kind = f"{ref.kind}.{ref.group}" if ref.group else ref.kind
                    raise CategorisedError(
                        Category.NON_RETRYABLE,
                        f"resource type {name!r} ({group_kind}) is served as cluster-scoped{where}: "
                        "resourceTypes (--types) name namespaced types only (CRDs are copied with syncCRDs)",
                    )
            out.extend(r for r in refs if r not in out)
        return out

    def for_object(self, obj: Mapping[str, Any]) -> ResourceRef:
        """The resource of an object, by its apiVersion and kind."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        found = self._lookup(
            f"{api_version}/{kind}", lambda s: [r] if (r := s.for_kind(api_version, kind)) else []
        )
        if not found:
            where = f" by cluster {self._cluster}" if self._cluster else ""
            raise NotServed(f"{kind} ({api_version}) is not served{where}", cluster=self._cluster)
        return found[0]


def offline_ref(name: str) -> ResourceRef | None:
    """A ResourceRef from the built-in table, for code paths with no cluster at hand."""
    kind = find_builtin(name)
    return ResourceRef.from_builtin(kind) if kind else None
