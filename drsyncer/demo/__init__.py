"""`drsyncer demo`: every component of drsyncer on one machine against simulated clusters.

`command` orchestrates, `children` starts and stops the processes, `redis_choice` picks the Redis,
`sample` holds the sample application and the Replication, `progress` follows the first run and
`summary` reports it, checked against the DR clusters.
"""
