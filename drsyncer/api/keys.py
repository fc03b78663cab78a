"""Every label, annotation, finalizer and API name drsyncer reads or writes, in one place.

The keys are the Go dr-syncer's, so objects written by either tool are recognised by the other.
"""

from typing import Final

GROUP: Final = "dr-syncer.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

KIND_REMOTE_CLUSTER: Final = "RemoteCluster"
KIND_REPLICATION: Final = "Replication"
KIND_NAMESPACE_MAPPING: Final = "NamespaceMapping"

# ownership marks written on every object drsyncer creates in a destination
LABEL_MANAGED_BY: Final = "dr-syncer.io/managed-by"
MANAGED_BY_VALUE: Final = "drsyncer"
ANNOTATION_REPLICATION: Final = "dr-syncer.io/replication"  # "<namespace>/<name>" of the Replication
ANNOTATION_SOURCE_CLUSTER: Final = "dr-syncer.io/source-cluster"
ANNOTATION_SOURCE_NAMESPACE: Final = "dr-syncer.io/source-namespace"
ANNOTATION_SOURCE_UID: Final = "dr-syncer.io/source-uid"
ANNOTATION_SOURCE_HASH: Final = "dr-syncer.io/source-hash"
# what the copy was made from: "<source uid>/<source version>/<check>" (drsyncer.sync.provenance)
ANNOTATION_SYNCED_FROM: Final = "dr-syncer.io/synced-from"
# on a copy put back after the destination refused its recreate's create: the source hash of the
# object refused, so that later runs keep the copy rather than delete it again for the same object
ANNOTATION_RECREATE_REFUSED: Final = "dr-syncer.io/recreate-refused"

# namespaces created in a destination carry this label (the Go operator's key)
LABEL_SOURCE_NAMESPACE: Final = "dr-syncer.io/source-namespace"

# per-object controls set by users on source objects
LABEL_IGNORE: Final = "dr-syncer.io/ignore"
LABEL_SCALE_OVERRIDE: Final = "dr-syncer.io/scale-override"
LABEL_IMMUTABLE_HANDLING: Final = "dr-syncer.io/immutable-handling"
LABEL_STORAGE_CLASS: Final = "dr-syncer.io/storage-class"
ANNOTATION_ORIGINAL_REPLICAS: Final = "dr-syncer.io/original-replicas"
ANNOTATION_ORIGINAL_SUSPEND: Final = "dr-syncer.io/original-suspend"  # CronJobs and Jobs, like replicas
# DaemonSets held in standby: the source's pod-template nodeSelector (JSON), and the node label the
# copy's nodeSelector requires, which no node carries
ANNOTATION_ORIGINAL_NODE_SELECTOR: Final = "dr-syncer.io/original-node-selector"
LABEL_STANDBY_NODE: Final = "dr-syncer.io/standby-node"
STANDBY_NODE_VALUE: Final = "none"
# on a copy `drsyncer failover` brought up: the standby values it replaced (JSON), so `drsyncer failback`
# puts back exactly those and a second failover knows the copy is already up
ANNOTATION_FAILOVER_STANDBY: Final = "dr-syncer.io/failover-standby"
# on each DR Namespace a failover brought up: the cluster's resourceVersion after the failover's writes;
# objects written later changed while the DR cluster served (what failback can copy back)
ANNOTATION_FAILOVER_RESOURCE_VERSION: Final = "dr-syncer.io/failover-resource-version"

# triggers on Replication objects
ANNOTATION_SYNC_NOW: Final = "dr-syncer.io/sync-now"
ANNOTATION_SYNC_NOW_LEGACY: Final = "dr-syncer.io/trigger-sync"

FINALIZER_CLEANUP: Final = "dr-syncer.io/cleanup"

# Kubernetes keys drsyncer strips or reads
ANNOTATION_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
ANNOTATION_SA_NAME: Final = "kubernetes.io/service-account.name"
ANNOTATION_SA_UID: Final = "kubernetes.io/service-account.uid"
LABEL_LEGACY_TOKEN_LAST_USED: Final = "kubernetes.io/legacy-token-last-used"
LABEL_LEGACY_TOKEN_INVALID_SINCE: Final = "kubernetes.io/legacy-token-invalid-since"
SECRET_TYPE_SA_TOKEN: Final = "kubernetes.io/service-account-token"
ROOT_CA_CONFIGMAP: Final = "kube-root-ca.crt"
PVC_BINDING_ANNOTATIONS: Final = (
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.kubernetes.io/selected-node",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
)

# labels and annotations other controllers own on destination copies; an update keeps them
ANNOTATION_DEPLOYMENT_REVISION: Final = "deployment.kubernetes.io/revision"
# the pre-storageClassName way of naming a PVC's class, still honoured by the API server
ANNOTATION_BETA_STORAGE_CLASS: Final = "volume.beta.kubernetes.io/storage-class"
# the pre-ingressClassName way of naming an Ingress's class, still honoured by the API server
ANNOTATION_INGRESS_CLASS: Final = "kubernetes.io/ingress.class"
# "true" on the IngressClass the DefaultIngressClass admission plugin gives an Ingress naming none
ANNOTATION_DEFAULT_INGRESS_CLASS: Final = "ingressclass.kubernetes.io/is-default-class"
# how Kubernetes' own controllers mark the Endpoints and EndpointSlices they write for a Service
# (pkg/controller/endpoint LabelManagedBy/ControllerName; discovery/v1 LabelManagedBy and the
# endpointslice and endpointslicemirroring controllers' names), as against hand-made ones
LABEL_ENDPOINTS_MANAGED_BY: Final = "endpoints.kubernetes.io/managed-by"
ENDPOINTS_CONTROLLER: Final = "endpoint-controller"
LABEL_ENDPOINTSLICE_MANAGED_BY: Final = "endpointslice.kubernetes.io/managed-by"
ENDPOINTSLICE_CONTROLLERS: Final = frozenset(
    {"endpointslice-controller.k8s.io", "endpointslicemirroring-controller.k8s.io"}
)
# labels the Job controller generates from the Job's uid; a copy must let the destination make its own
JOB_CONTROLLER_LABELS: Final = (
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
)
# annotations a destination's own controllers keep on our copies; updates carry them over
DESTINATION_OWNED_ANNOTATIONS: Final = (ANNOTATION_DEPLOYMENT_REVISION, *PVC_BINDING_ANNOTATIONS)

# marks operators leave on the objects they generate, for the rule that skips an object whose
# generator is copied (drsyncer.sync.select). The generator is named by (group, kind).
# cert-manager: every Secret its certificates controller writes carries the Certificate's name
# (cert-manager pkg/apis/meta/v1 CertificateNameKey; set by the issuing controller on the Secret).
ANNOTATION_CERT_MANAGER_CERTIFICATE: Final = "cert-manager.io/certificate-name"
CERT_MANAGER_CERTIFICATE: Final = ("cert-manager.io", "Certificate")
# External Secrets Operator: the target Secret of an ExternalSecret carries the hash of the data it
# wrote (apis/externalsecrets/v1beta1 AnnotationDataHash) and, in recent releases, a `managed` label
# set to "true" (pkg/controllers/externalsecret); with creationPolicy Owner it also has a controller ownerReference.
ANNOTATION_EXTERNAL_SECRETS_DATA_HASH: Final = "reconcile.external-secrets.io/data-hash"
LABEL_EXTERNAL_SECRETS_MANAGED: Final = "reconcile.external-secrets.io/managed"
EXTERNAL_SECRET: Final = ("external-secrets.io", "ExternalSecret")
# Sealed Secrets: the controller writes the unsealed Secret with a controller ownerReference to its
# SealedSecret (bitnami-labs/sealed-secrets pkg/controller, apiVersion bitnami.com/v1alpha1)
SEALED_SECRET: Final = ("bitnami.com", "SealedSecret")

# namespace metadata copied onto destination namespaces (drsyncer.sync.namespace_metadata) besides
# what a Replication's `namespaceMetadata` selects: keys ending in "/" are prefixes.
# Pod Security admission levels (kubernetes.io/docs/concepts/security/pod-security-admission);
# Istio sidecar injection (istio.io/latest/docs/setup/additional-setup/sidecar-injection);
# Linkerd proxy injection (linkerd.io/2/features/proxy-injection, an annotation).
NAMESPACE_LABELS_COPIED: Final = ("pod-security.kubernetes.io/", "istio-injection", "istio.io/rev")
NAMESPACE_ANNOTATIONS_COPIED: Final = ("linkerd.io/inject",)
# never copied whatever a rule selects: set by each cluster (the namespace controller's name label,
# kubectl's bookkeeping) or by drsyncer itself
NAMESPACE_KEYS_NEVER_COPIED: Final = ("kubernetes.io/metadata.name", "kubectl.kubernetes.io/", f"{GROUP}/")
# on a destination namespace: the label and annotation keys drsyncer copied there from the source
# (JSON {"labels": [...], "annotations": [...]}), so a key the source drops is removed only if copied
ANNOTATION_NAMESPACE_METADATA: Final = "dr-syncer.io/namespace-metadata"

# what to run when a cluster does not serve the dr-syncer.io kinds (messages of the commands and the watcher)
INSTALL_CRDS: Final = "drsyncer crds | kubectl apply --server-side -f -"

# status condition types on Replication and RemoteCluster objects
CONDITION_READY: Final = "Ready"
CONDITION_SYNCED: Final = "Synced"
# False while a destination copy is held back (an immutable change left unapplied under NoChange)
CONDITION_UP_TO_DATE: Final = "UpToDate"
CONDITION_INVALID_SPEC: Final = "InvalidSpec"
# a Replication's: every RemoteCluster its spec names exists and is valid (set by the watcher)
CONDITION_REMOTE_CLUSTERS_FOUND: Final = "RemoteClustersFound"
CONDITION_KUBECONFIG_AVAILABLE: Final = "KubeconfigAvailable"
CONDITION_KUBECONFIG_VALID: Final = "KubeconfigValid"
CONDITION_CLUSTER_AVAILABLE: Final = "ClusterAvailable"
# Ready=False while a namespaceSelector matches no source namespace: no run can start
REASON_NO_SOURCE_NAMESPACES: Final = "NoSourceNamespaces"
