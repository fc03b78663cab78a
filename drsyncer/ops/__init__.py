"""Operator commands: `drsyncer status`, `sync-now`, `plan` and `migrate` against a controller cluster,
and `failover` and `failback` against a DR cluster (and the controller, when named).

`controller` finds and checks the controller cluster and reads Replications from it; each command
module holds one command. They read and write only through `drsyncer.kube`.
"""
