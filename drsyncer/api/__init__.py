"""The dr-syncer.io/v1alpha1 API: CRD models, defaults, validation and generated manifests.

Where to start (nothing is re-exported here, so importing `drsyncer.api.keys` stays cheap):

- `parse.parse_replication(obj)`, `parse.parse_remote_cluster(obj)`: raw dict → model, or
  `parse.InvalidSpec` whose `errors` are `path: message` strings.
- `namespacemapping.parse_namespace_mapping(obj)`: a legacy object → Replication model;
  `namespacemapping.convert_namespace_mapping(obj)` → Replication dict and warnings.
- `replication.Replication`: `destinations()`, `targets()`, `namespace_pairs()`, `schedule()`,
  `resource_types()`, `spec_dict()`, `status_dict()`.
- `crds.all_crds()`, `reference.render_reference()`: generated manifests and docs/api.md.
"""
