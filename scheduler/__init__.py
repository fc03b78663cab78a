"""The watcher: turns RemoteCluster and Replication changes into redbeat schedule entries."""
