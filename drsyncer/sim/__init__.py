"""A Kubernetes API simulator: several clusters over real HTTP, with fault injection.

    with SimFleet(["source", "dr1"]) as fleet:
        fleet.write_kubeconfig(path)
        fleet["dr1"].faults.set(latency_ms=20)

See docs/simulator.md for what is served.
"""

from drsyncer.sim.cluster import SimCluster, SimFleet
from drsyncer.sim.faults import Faults

__all__ = ["Faults", "SimCluster", "SimFleet"]
