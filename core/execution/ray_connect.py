"""Connecting to a Ray cluster, and saying in one line what went wrong when it fails.

Ray's token authentication (`RAY_AUTH_MODE=token`, Ray >= 2.52; https://docs.ray.io/en/latest/
ray-security/token-auth.html): anyone who can reach a head without it can run code on every
node. The token is read from $RAY_AUTH_TOKEN, the file $RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token.
A client without the right token is refused; we say so in one line instead of a gRPC trace.
"""

from __future__ import annotations

import logging
import os


class RayConnectError(RuntimeError):
    """The cluster cannot be used; the message says why and what to do, in one line."""


def token_auth_on() -> bool:
    """Whether this process speaks Ray's token authentication (its RAY_AUTH_MODE, or a token Ray found)."""
    try:
        from ray._raylet import AuthenticationMode, get_authentication_mode

        return get_authentication_mode() == AuthenticationMode.TOKEN
    except Exception:  # a Ray without token authentication
        return os.environ.get("RAY_AUTH_MODE", "").lower() == "token"


def connect(address: str) -> dict:
    """ray.init(address) for a driver: quiet, nothing of its workers' output here. Returns the
    cluster: {"address", "nodes", "CPU", "GPU", "token_auth"}; raises RayConnectError.

    A cluster that wants a token we lack refuses ray.init only after 20 s of retries (logged once
    a second); its GCS refuses a single request at once, so that is asked first."""
    import ray

    _check_token(address)
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except ConnectionError as missing:
        raise RayConnectError(f"no Ray cluster answers at {address}: start one with `ray start --head` "
                              f"(README, On several machines) ({_short(missing)})") from None
    except Exception as problem:  # AuthenticationError, RuntimeError, ValueError... with pages of text
        if "token" in str(problem).lower() or "auth" in type(problem).__name__.lower():
            raise RayConnectError(_refused(address, problem)) from None
        raise RayConnectError(f"cannot use the Ray cluster at {address}: {type(problem).__name__}: {_short(problem)}") from None
    resources = ray.cluster_resources()
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    return {"address": address, "nodes": len(nodes), "CPU": float(resources.get("CPU", 0)), "GPU": float(resources.get("GPU", 0)),
            "token_auth": token_auth_on()}


def _check_token(address: str) -> None:
    """One request to the cluster's GCS: refused at once when our token is missing or wrong.
    In token mode without any token Ray aborts the process (a C++ trace): say so before."""
    if token_auth_on() and not _token_available():
        raise RayConnectError("RAY_AUTH_MODE=token is set but there is no token: set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) "
                              "to the cluster's token, which `ray get-auth-token` prints on its head")
    try:
        from ray._private.services import canonicalize_bootstrap_address
        from ray._raylet import GcsClient
        from ray.exceptions import AuthenticationError

        gcs = canonicalize_bootstrap_address(address)
    except Exception:  # no such private API in this Ray, or no cluster found: ray.init says what is wrong
        return
    if gcs is None:
        return
    try:
        GcsClient(address=gcs).internal_kv_get(b"mnist-tui-probe", namespace=None, timeout=5)
    except AuthenticationError as refused:
        raise RayConnectError(_refused(address, refused)) from None
    except Exception:
        return  # not reachable, or another answer: ray.init says what is wrong


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


def _refused(address: str, problem: Exception) -> str:
    lacking = "gave a wrong token" if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") else "has no token"
    return (f"the Ray cluster at {address} uses token authentication and this client {lacking}: set RAY_AUTH_MODE=token and "
            f"RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the cluster's token, which `ray get-auth-token` prints on its head "
            f"({_short(problem, 120)})")


def token_warning(cluster: dict) -> str:
    """One line when we reached the cluster without a token (so it asks for none), else ""."""
    if cluster.get("token_auth"):
        return ""
    return (f"the Ray cluster at {cluster['address']} does not use token authentication: anyone who can reach it can run "
            "code on every node (start it with RAY_AUTH_MODE=token; README, On several machines)")


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
