"""The built-in Kubernetes resources drsyncer knows by name, as plain data.

Used offline (validating `resourceTypes`, ordering a sync) and by the simulator, which serves exactly
these. A live cluster's discovery is the authority at run time; this table is what holds without one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinKind:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    status_subresource: bool = False
    scale_subresource: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`plural.group` (just `plural` in the core group), the form used in RBAC and `resourceTypes`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _k(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool,
    short: tuple[str, ...] = (),
    status: bool = False,
    scale: bool = False,
) -> BuiltinKind:
    return BuiltinKind(group, version, kind, plural, kind.lower(), namespaced, short, status, scale)


BUILTIN_KINDS: tuple[BuiltinKind, ...] = (
    _k("", "v1", "Namespace", "namespaces", False, ("ns",), status=True),
    _k("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    _k("", "v1", "Secret", "secrets", True),
    _k("", "v1", "Service", "services", True, ("svc",), status=True),
    _k("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    _k("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), status=True),
    _k("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), status=True),
    _k("", "v1", "Event", "events", True, ("ev",)),
    _k("", "v1", "Pod", "pods", True, ("po",), status=True),
    _k("apps", "v1", "Deployment", "deployments", True, ("deploy",), status=True, scale=True),
    _k("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), status=True, scale=True),
    _k("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), status=True),
    _k("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), status=True, scale=True),
    _k("batch", "v1", "Job", "jobs", True, (), status=True),
    _k("batch", "v1", "CronJob", "cronjobs", True, ("cj",), status=True),
    _k("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), status=True),
    _k("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),
    _k("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    _k("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    _k("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _k("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _k(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        ("hpa",),
        status=True,
    ),
    _k("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), status=True),
    _k("coordination.k8s.io", "v1", "Lease", "leases", True),
    # the backends of a Service: written by the cluster's endpoints controllers, or by hand for a
    # Service without a selector (drsyncer.sync.select tells them apart)
    _k("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    _k("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    _k("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",)),
    # the default one names the class an Ingress naming none is given (drsyncer failback reads it)
    _k("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _k(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        status=True,
    ),
)

# The rest of Kubernetes 1.34's listable built-in resources (kube-apiserver 1.34's discovery,
# `kubectl api-resources`, less the create-only reviews, `bindings` and the deprecated
# `componentstatuses`). Known by name so that `resourceTypes` takes the namespaced ones as they are
# spelled (`limitranges`, `rc`, `endpointslices.discovery.k8s.io`) and refuses the cluster-scoped
# ones as such (`priorityclasses`, `runtimeclasses.node.k8s.io`). The simulator does not serve
# them, and drsyncer/api/immutability.py has no rows for them: what a destination refuses to change
# in one of these is found from its answer at run time.
OTHER_BUILTIN_KINDS: tuple[BuiltinKind, ...] = (
    _k("", "v1", "LimitRange", "limitranges", True, ("limits",)),
    _k("", "v1", "PodTemplate", "podtemplates", True),
    _k("", "v1", "ReplicationController", "replicationcontrollers", True, ("rc",), status=True, scale=True),
    _k("", "v1", "ResourceQuota", "resourcequotas", True, ("quota",), status=True),
    _k("", "v1", "Node", "nodes", False, ("no",), status=True),
    _k("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    _k("events.k8s.io", "v1", "Event", "events", True, ("ev",)),
    _k("resource.k8s.io", "v1", "ResourceClaim", "resourceclaims", True, status=True),
    _k("resource.k8s.io", "v1", "ResourceClaimTemplate", "resourceclaimtemplates", True),
    _k("resource.k8s.io", "v1", "DeviceClass", "deviceclasses", False),
    _k("resource.k8s.io", "v1", "ResourceSlice", "resourceslices", False),
    _k("storage.k8s.io", "v1", "CSIStorageCapacity", "csistoragecapacities", True),
    _k("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False),
    _k("storage.k8s.io", "v1", "CSINode", "csinodes", False),
    _k("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", False, status=True),
    _k("storage.k8s.io", "v1", "VolumeAttributesClass", "volumeattributesclasses", False, ("vac",)),
    _k("networking.k8s.io", "v1", "IPAddress", "ipaddresses", False, ("ip",)),
    _k("networking.k8s.io", "v1", "ServiceCIDR", "servicecidrs", False, status=True),
    _k("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ("pc",)),
    _k("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", False),
    _k(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        False,
        ("csr",),
        status=True,
    ),
    _k(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        False,
    ),
    _k(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        False,
    ),
    _k(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        False,
        status=True,
    ),
    _k(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        False,
    ),
    _k("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, status=True),
    _k("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", "flowschemas", False, status=True),
    _k(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
        "prioritylevelconfigurations",
        False,
        status=True,
    ),
)
