"""`RemoteCluster`: how to reach one cluster (kubeconfig Secret, request budget) and its health."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from drsyncer.api.camel import Problem, SpecModel, StatusModel
from drsyncer.api.fieldtypes import Bool, Int, NonEmpty, Number, ObjectName, ResourceType, Schedule
from drsyncer.api.meta import Conditions, ObjectMeta, status_or_empty
from drsyncer.api.names import unique_in_order
from drsyncer.api.resource_types import normalize_resource_type

DEFAULT_KUBECONFIG_KEY = "kubeconfig"
DEFAULT_NAMESPACE = "default"


class SecretKeyRef(SpecModel):
    name: ObjectName = Field(description="Name of the Secret holding the kubeconfig.")
    namespace: ObjectName | None = Field(
        default=None, description="Namespace of the Secret. Default: the RemoteCluster's own namespace."
    )
    key: NonEmpty = Field(
        default=DEFAULT_KUBECONFIG_KEY, description="Data key of the kubeconfig in the Secret."
    )


class RateLimit(SpecModel):
    qps: Number = Field(
        default=50,
        gt=0,
        description="Requests per second to this cluster, shared by the whole worker fleet "
        "(not per process).",
    )
    burst: Int = Field(
        default=100,
        ge=1,
        description="Requests that may be sent at once above `qps`; at least `qps`.",
    )

    def problems(self) -> list[Problem]:
        if self.burst < self.qps:
            return [("burst", f"must be at least qps ({self.qps:g})")]
        return []


class RemoteClusterSpec(SpecModel):
    kubeconfig_secret_ref: SecretKeyRef = Field(
        description="Secret in the controller cluster holding a kubeconfig for this cluster."
    )
    rate_limit: RateLimit = Field(default_factory=RateLimit, description="Request budget for this cluster.")
    insecure_skip_tls_verify: Bool = Field(
        default=False,
        alias="insecureSkipTLSVerify",
        description="Do not verify the cluster's TLS certificate. For test clusters only.",
    )
    default_schedule: Schedule | None = Field(
        default=None, description="Schedule of Replications whose source is this cluster and that set none."
    )
    default_resource_types: list[ResourceType] | None = Field(
        default=None,
        description="`resourceTypes` of Replications whose source is this cluster and that set none.",
    )


class ClusterHealth(StrEnum):
    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    UNKNOWN = "Unknown"


class RemoteClusterStatus(StatusModel):
    observed_generation: int | None = Field(
        default=None, description="The generation the status was computed from."
    )
    health: ClusterHealth | None = Field(
        default=None, description="Healthy, Unhealthy or Unknown, from the last check."
    )
    last_check_time: datetime | None = Field(default=None, description="When the cluster was last checked.")
    server_version: str | None = Field(
        default=None,
        description="The cluster's Kubernetes version, as the last check that reached it read it: kept "
        "while it is Unhealthy (as a Node keeps its kubelet version while NotReady); the "
        "ClusterAvailable condition's lastTransitionTime says since when it has not been reached.",
    )
    message: str | None = Field(default=None, description="Why the cluster is not healthy, if it is not.")
    conditions: Conditions = Field(
        default_factory=list,
        description="KubeconfigAvailable, KubeconfigValid, ClusterAvailable and InvalidSpec.",
    )


class RemoteCluster(BaseModel):
    """A RemoteCluster object as stored in the controller cluster."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    api_version: Literal["dr-syncer.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["RemoteCluster"]
    metadata: ObjectMeta
    spec: RemoteClusterSpec
    status: RemoteClusterStatus = Field(default_factory=RemoteClusterStatus)

    @field_validator("status", mode="wrap")
    @classmethod
    def _unreadable_status_is_no_status(
        cls, value: Any, handler: ValidatorFunctionWrapHandler
    ) -> RemoteClusterStatus:
        return status_or_empty(value, handler, RemoteClusterStatus)

    @model_validator(mode="after")
    def _secret_in_own_namespace(self) -> RemoteCluster:
        if self.spec.kubeconfig_secret_ref.namespace is None and self.metadata.namespace:
            self.spec.kubeconfig_secret_ref.namespace = self.metadata.namespace
        return self

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or DEFAULT_NAMESPACE

    @property
    def secret_namespace(self) -> str:
        """Namespace of the kubeconfig Secret, with the default applied."""
        return self.spec.kubeconfig_secret_ref.namespace or self.namespace

    def default_resource_types(self) -> list[str] | None:
        """`defaultResourceTypes` in canonical spelling (see `normalize_resource_type`), or None."""
        types = self.spec.default_resource_types
        return None if types is None else unique_in_order(normalize_resource_type(t) for t in types)

    def status_dict(self) -> dict:
        """The status as camelCase JSON without unset fields, ready for a `/status` patch."""
        out: dict = self.status.model_dump(mode="json", by_alias=True, exclude_none=True)
        return out

    def spec_dict(self) -> dict:
        """The spec as a plain camelCase dict, defaults filled in."""
        out: dict = self.spec.model_dump(mode="json", by_alias=True)
        out["kubeconfigSecretRef"]["namespace"] = self.secret_namespace
        return out
