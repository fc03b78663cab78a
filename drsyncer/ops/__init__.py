"""Operator commands against a controller cluster: `drsyncer status`, `sync-now`, `plan`, `migrate`.

`controller` finds and checks the controller cluster and reads Replications from it; each command
module holds one command. They read and write only through `drsyncer.kube`.
"""
