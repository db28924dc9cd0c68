"""Connecting to a Ray cluster, and saying in one line what went wrong when it fails.

Ray's token authentication (`RAY_AUTH_MODE=token`, Ray >= 2.52; https://docs.ray.io/en/latest/
ray-security/token-auth.html): anyone who can reach a head without it can run code on every
node. The token is read from $RAY_AUTH_TOKEN, the file $RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token.
A client without the right token is refused; we say so in one line instead of a gRPC trace.
"""

from __future__ import annotations

import logging
import os
import threading


class RayConnectError(RuntimeError):
    """The cluster cannot be used; the message says why and what to do, in one line."""


def token_auth_on() -> bool:
    """Whether this process speaks Ray's token authentication (its RAY_AUTH_MODE, or a token Ray found)."""
    try:
        from ray._raylet import AuthenticationMode, get_authentication_mode

        return get_authentication_mode() == AuthenticationMode.TOKEN
    except Exception:  # a Ray without token authentication
        return os.environ.get("RAY_AUTH_MODE", "").lower() == "token"


CONNECT_TIMEOUT_S = 30.0  # ray.init retries an address nobody answers at for ever
PROBE_CONNECT_S = 10.0  # a GCS that does not answer one request in this is not there
PROBE_TIMEOUT_S = 60.0  # a task that needs no resources must run within this on a working cluster


def connect(address: str) -> dict:
    """ray.init(address) for a driver: quiet, nothing of its workers' output here, bounded in
    time. Returns the cluster: {"address" (host:port, as resolved), "asked", "nodes", "CPU",
    "GPU", "token_auth"}; raises RayConnectError.

    A cluster that wants a token we lack refuses ray.init only after 20 s of retries; its GCS
    refuses a single request at once, so that is asked first. Connected, a generator task that
    needs no resources must stream back: a client in token mode talking to a cluster without
    tokens connects, runs plain tasks, and never receives a run's events."""
    import ray

    gcs = _check_token(address)
    outcome: list = []

    def init() -> None:
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
            outcome.append(None)
        except BaseException as problem:  # noqa: BLE001 (reported below, in one line)
            outcome.append(problem)

    thread = threading.Thread(target=init, name="ray-init", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S)
    if not outcome:
        raise RayConnectError(f"no Ray cluster answered at {gcs or address} within {CONNECT_TIMEOUT_S:.0f} s: start one with "
                              "`ray start --head` (docs/several-machines.md), or give its address to --ray")
    problem = outcome[0]
    if isinstance(problem, ConnectionError):
        raise RayConnectError(f"no Ray cluster answers at {gcs or address}: start one with `ray start --head` "
                              f"(docs/several-machines.md) ({_short(problem)})")
    if problem is not None:
        if "token" in str(problem).lower() or "auth" in type(problem).__name__.lower():
            raise RayConnectError(_refused(address))
        raise RayConnectError(f"cannot use the Ray cluster at {address}: {type(problem).__name__}: {_short(problem)}")
    _check_tasks_run(address)
    resources = ray.cluster_resources()
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    resolved = ray.get_runtime_context().gcs_address or gcs or address
    return {"address": resolved, "asked": address, "nodes": len(nodes), "CPU": float(resources.get("CPU", 0)),
            "GPU": float(resources.get("GPU", 0)), "token_auth": token_auth_on()}


def _one_item():
    yield None


def _check_tasks_run(address: str) -> None:
    """A generator task that needs no resources must stream its one item back, as every run's
    task does (a plain task's result travels otherwise: it came back where items did not)."""
    import ray

    try:
        items = ray.remote(num_cpus=0)(_one_item).remote()
        ready, _ = ray.wait([items], timeout=PROBE_TIMEOUT_S)
        if not ready:
            raise TimeoutError("no item came back")
        ray.get(next(items), timeout=PROBE_TIMEOUT_S)
    except Exception:  # a timeout, or Ray giving up on the task: the same for the user
        hint = (" (this client uses token authentication: was the cluster started with RAY_AUTH_MODE=token too?)"
                if token_auth_on() else "")
        raise RayConnectError(f"connected to the Ray cluster at {address}, but a test task's result did not come back within "
                              f"{PROBE_TIMEOUT_S:.0f} s{hint}") from None


def _check_token(address: str) -> str | None:
    """One request to the cluster's GCS: refused at once when our token is missing or wrong.
    In token mode without any token Ray aborts the process (a C++ trace): say so before.
    Returns the GCS address (host:port) when it could be resolved."""
    if token_auth_on() and not _token_available():
        raise RayConnectError("RAY_AUTH_MODE=token is set but there is no token: set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) "
                              "to the cluster's token, which `ray get-auth-token` prints on its head")
    try:
        from ray._private.services import canonicalize_bootstrap_address
        from ray._raylet import GcsClient
        from ray.exceptions import AuthenticationError

        gcs = canonicalize_bootstrap_address(address)
    except Exception:  # no such private API in this Ray, or no cluster found: ray.init says what is wrong
        return None
    if gcs is None:
        return None
    answer: list = []

    def ask() -> None:
        try:
            GcsClient(address=gcs).internal_kv_get(b"mnist-tui-probe", namespace=None, timeout=5)
            answer.append(None)
        except Exception as problem:  # noqa: BLE001 (sorted below)
            answer.append(problem)

    asking = threading.Thread(target=ask, name="ray-probe", daemon=True)
    asking.start()
    asking.join(PROBE_CONNECT_S)  # a live GCS answers in milliseconds; a dead address keeps the client retrying
    if not answer:
        raise RayConnectError(f"no Ray cluster answers at {gcs} (asked for {PROBE_CONNECT_S:.0f} s): start one with "
                              "`ray start --head` (docs/several-machines.md), or give its address to --ray")
    if isinstance(answer[0], AuthenticationError):
        raise RayConnectError(_refused(address))
    return gcs  # another failure: ray.init says what is wrong (within its time)


def _token_available() -> bool:
    """Where Ray looks for a token, in its order: $RAY_AUTH_TOKEN, the file $RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH", "").strip() or os.path.join(os.path.expanduser("~"), ".ray", "auth_token")
    try:
        with open(path, encoding="utf-8") as handle:
            return bool(handle.read(4096).strip())
    except OSError:
        return False


def _refused(address: str) -> str:
    """Why the cluster refused us, from what this client has: the mode, a token, or neither."""
    if not token_auth_on():
        if _token_available():
            return (f"the Ray cluster at {address} uses token authentication; this client has a token but does not send it: "
                    "set RAY_AUTH_MODE=token")
        return (f"the Ray cluster at {address} uses token authentication and this client has no token: set RAY_AUTH_MODE=token "
                "and RAY_AUTH_TOKEN to the token `ray get-auth-token` prints on the head")
    source = ("$RAY_AUTH_TOKEN" if os.environ.get("RAY_AUTH_TOKEN", "").strip()
              else "$RAY_AUTH_TOKEN_PATH" if os.environ.get("RAY_AUTH_TOKEN_PATH", "").strip() else "~/.ray/auth_token")
    return (f"the Ray cluster at {address} refused this client's token (from {source}): set it to the token "
            "`ray get-auth-token` prints on the head")


def token_warning(cluster: dict) -> str:
    """One line when we reached the cluster without a token (so it asks for none), else ""."""
    if cluster.get("token_auth"):
        return ""
    return (f"the Ray cluster at {cluster['address']} does not use token authentication: anyone who can reach it can run "
            "code on every node (start it with RAY_AUTH_MODE=token; docs/several-machines.md)")


def cluster_devices(cluster: dict) -> list[list[str]]:
    """The cluster as the runner's device list: (label, spec) pairs for the form and the CLI
    ("auto": a GPU where the cluster has one, else a CPU, is the form's own first choice)."""
    nodes = f"{cluster['nodes']} Ray node{'s' if cluster['nodes'] != 1 else ''}"
    devices = [[f"a GPU on any of {nodes} ({cluster['GPU']:g} GPUs)", "cuda"]] if cluster["GPU"] else []
    return devices + [[f"a CPU on any of {nodes} ({cluster['CPU']:g} CPUs)", "cpu"]]


def cluster_summary(cluster: dict) -> str:
    return f"the Ray cluster at {cluster['address']}: {cluster['nodes']} node(s), {cluster['GPU']:g} GPU(s), {cluster['CPU']:g} CPU(s)"


def _short(problem: Exception, limit: int = 200) -> str:
    text = " ".join(str(problem).split())
    return text[:limit] + ("…" if len(text) > limit else "")
