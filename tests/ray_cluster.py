"""A real Ray cluster of several nodes on this machine, on 127.0.0.1 only, for the tests.

Run as a process of its own (tests/test_ray.py starts it), so the test process never imports
Ray and the cluster ends with it: `python tests/ray_cluster.py NODES` starts a head that runs no
tasks and NODES worker nodes of one CPU each (Ray's own ray.cluster_utils.Cluster, as Ray's
tests do), prints one JSON line {"address", "nodes": {node_id: name}}, then obeys lines on stdin:

    remove NODE_ID     the node goes away (its processes are stopped), as a lost machine does
    add                a new worker node
    quit (or EOF)      everything stops

and answers each with a JSON line. Loopback only: Ray rewrites 127.0.0.1 to the machine's
network address on Linux unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 is set before it is
imported (then every node binds 127.0.0.1; checked with ss -ltn).
"""

from __future__ import annotations

import json
import os
import sys

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before Ray is imported: stay on 127.0.0.1
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from ray.cluster_utils import Cluster  # noqa: E402


def say(message: dict) -> None:
    print(json.dumps(message), flush=True)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "node_ip_address": "127.0.0.1", "node_name": "head"})
    nodes = {}
    made = [0]

    def add() -> str:
        made[0] += 1
        name = f"node-{made[0]}"  # never reused: a node added after a removal gets a new name
        node = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1", node_name=name)
        nodes[node.node_id] = (name, node)
        return node.node_id

    try:
        for _ in range(count):
            add()
        cluster.wait_for_nodes()
        say({"address": cluster.address, "nodes": {node_id: name for node_id, (name, _) in nodes.items()}})
        for line in sys.stdin:
            command = line.split()
            if not command or command[0] == "quit":
                break
            if command[0] == "remove":
                name, node = nodes.pop(command[1])
                cluster.remove_node(node)
                say({"removed": command[1], "name": name})
            elif command[0] == "add":
                node_id = add()
                say({"added": node_id, "name": nodes[node_id][0]})
    finally:
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
