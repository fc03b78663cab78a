"""The dr-syncer.io/v1alpha1 API: CRD models, defaults, validation and generated manifests."""
