"""Run outcomes turned into CR status: pure aggregation (`replication`, `remote_cluster`, `events`),
the run records kept in Redis between workers (`runs`), and the small writer that patches `/status`
and posts Events (`writer`)."""
