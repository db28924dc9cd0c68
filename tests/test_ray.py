"""Runs as Ray tasks: a real cluster of a head and worker nodes on this machine (tests/ray_cluster.py,
127.0.0.1 only), CPU only, real MNIST subsets. What a user sees: the runs in the run store as a
local run records them, where they trained, a lost node survived, `x`, and token authentication.

The test process never imports Ray: the cluster lives in a process of its own, the driver in the
runner process the executor starts (core.execution.ray_driver).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from core.comparison.sweep import expand_grid
from core.config import RunConfig
from core.execution.executor import Executor
from core.runstore.results import load_records
from core.runstore.store import RunStore
from core.training.checkpoint import load_checkpoint
from core.training.stop import StopRequest
from tests.test_executor import most_at_once
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parents[1]


class RayCluster:
    """tests/ray_cluster.py in a process of its own; `remove`/`add` nodes; `close` stops it all."""

    def __init__(self, nodes: int, env: dict[str, str]) -> None:
        self.env = env
        self.process = subprocess.Popen([sys.executable, "-m", "tests.ray_cluster", str(nodes)], cwd=REPO, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        first = self._answer(120)
        self.address, self.nodes = first["address"], dict(first["nodes"])  # node id -> name

    def _answer(self, timeout: float) -> dict:
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise TimeoutError("the Ray test cluster did not answer")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Ray test cluster exited ({self.process.wait()})")
        return json.loads(line)

    def tell(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._answer(60)

    def node_id(self, name: str) -> str:
        return next(node_id for node_id, n in self.nodes.items() if n == name)

    def remove(self, name: str) -> None:
        self.tell(f"remove {self.node_id(name)}")
        del self.nodes[self.node_id(name)]

    def add(self) -> str:
        answer = self.tell("add")
        self.nodes[answer["added"]] = answer["name"]
        return answer["name"]

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=10)


def ray_env(temp: str, **extra: str) -> dict[str, str]:
    """Loopback only (else Ray binds the machine's network address), our own temp folder, no
    usage reports; token authentication only where a test asks for it."""
    return {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": temp,
            "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1", **extra}


@pytest.fixture(scope="module")
def temp_root():
    root = tempfile.mkdtemp(prefix="mt-ray-", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    yield root
    subprocess.run(["rm", "-rf", root], check=False)


@pytest.fixture(scope="module")
def cluster(temp_root):
    # The nodes know no MNIST of their own (no MNIST_TUI_DATA, an empty cache): they must read
    # the folder the driver's machine uses, whether from --data-dir or from MNIST_TUI_DATA.
    env = {k: v for k, v in ray_env(temp_root).items() if k != "MNIST_TUI_DATA"}
    cluster = RayCluster(2, {**env, "XDG_CACHE_HOME": temp_root + "/no-cache"})
    yield cluster
    cluster.close()


@pytest.fixture
def env(cluster, monkeypatch):
    """This test's processes (the driver above all) reach the cluster as the cluster's own do."""
    for key, value in cluster.env.items():
        if key.startswith(("RAY_", "OMP_")):
            monkeypatch.setenv(key, value)
    return {**cluster.env, "MNIST_TUI_DATA": os.environ["MNIST_TUI_DATA"], "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]}


def cli(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, timeout=timeout)


SMALL = ("--train-size", "640", "--test-size", "200", "--epochs", "2", "--log-every", "5")


def test_every_ray_process_listens_on_loopback_only(cluster):
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    ray_lines = [line for line in listening if any(name in line for name in ("gcs_server", "raylet", "ray::", "\"python"))]
    port = cluster.address.rsplit(":", 1)[1]
    assert any(f":{port} " in line for line in ray_lines), listening  # the head's GCS is among them
    hosts = {line.split()[3].rsplit(":", 1)[0].strip("[]") for line in ray_lines}
    assert hosts <= {"127.0.0.1", "::ffff:127.0.0.1"}, ray_lines


def test_a_sweep_spreads_over_two_nodes_and_is_recorded_as_a_local_one(cluster, env, runs_dir, tmp_path):
    result = cli("sweep", "--ray", cluster.address, "--lr", "0.01,0.02,0.03,0.04", *SMALL, "--runs-dir", str(runs_dir), env=env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "token authentication" in line]
    assert len(warnings) == 1 and warnings[0].startswith("mnist-tui: warning: the Ray cluster at")
    records, _ = load_records(RunStore(runs_dir))
    assert sorted(r.config.lr for r in records) == [0.01, 0.02, 0.03, 0.04]
    assert all(r.status == "done" and sorted(r.accuracies) == [1, 2] and r.device == "cpu" for r in records)
    assert {r.node for r in records} == set(cluster.nodes.values())  # both nodes trained
    assert most_at_once(records) == 2  # one CPU each: two at once, never more
    for r in records:  # the checkpoint and the predictions reached the run folder
        assert load_checkpoint(runs_dir / r.run_id / "checkpoint.pt")["epoch"] == 2
        shown = cli("show", r.run_id, "--runs-dir", str(runs_dir), env=env, timeout=60)
        assert shown.returncode == 0 and f"cpu (cpu) on node {r.node}" in shown.stdout and "confusion" in shown.stdout.lower()
    # The same seeded runs trained by local runners reach the same numbers.
    local_runs = tmp_path / "local"
    local = cli("sweep", "--lr", "0.01,0.04", *SMALL, "--runs-dir", str(local_runs), env=env)
    assert local.returncode == 0, local.stderr
    on_ray = {r.config.lr: r for r in records}
    for r in load_records(RunStore(local_runs))[0]:
        for epoch in (1, 2):
            assert r.accuracies[epoch] == pytest.approx(on_ray[r.config.lr].accuracies[epoch], abs=1e-9)
            assert r.test_losses[epoch] == pytest.approx(on_ray[r.config.lr].test_losses[epoch], rel=1e-5)


def test_a_search_runs_its_trials_on_both_nodes_and_prunes_one_there(cluster, env, runs_dir):
    """Seed 10's sixth trial (lr 3.7e-5) is judged after both good first trials have completed:
    the pruner's stop reaches its Ray task through the driver's board; its epoch-1 checkpoint lands here."""
    result = cli("search", "--ray", cluster.address, "--parallel", "2", "--lr", "1e-5:1e-1:log", "--trials", "6", "--seed", "10",
                 "--batch-size", "16", "--pruner-startup", "2", "--train-size", "1000", "--test-size", "500", "--epochs", "2",
                 "--study", "on-ray", "--runs-dir", str(runs_dir), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    records, _ = load_records(RunStore(runs_dir))
    assert len(records) == 6 and {r.status for r in records} <= {"done", "pruned"}
    assert {r.node for r in records} == set(cluster.nodes.values())
    slowest = min(records, key=lambda r: r.config.lr)
    assert slowest.config.lr == pytest.approx(3.745e-5, rel=1e-3) and slowest.status == "pruned", [(r.config.lr, r.status) for r in records]
    assert slowest.reason.startswith("pruned after epoch 1: ") and sorted(slowest.accuracies) == [1]
    assert load_checkpoint(runs_dir / slowest.run_id / "checkpoint.pt")["epoch"] == 1


def test_a_lost_node_does_not_lose_the_run_it_goes_on_elsewhere(cluster, env, runs_dir, data_dir):
    store = RunStore(runs_dir)
    executor = Executor(store, data_dir, ray_address=cluster.address, warm=False, new_session=False)
    config = RunConfig(train_size=6400, test_size=500, epochs=3, log_every=5, schedule="cosine", name="survivor")
    lost = []

    def on_event(event):
        if event.kind == "batch_logged" and event.epoch == 2 and not lost and (runs_dir / event.run_id / "checkpoint.pt").exists():
            (record,) = load_records(store)[0]
            lost.append(record.node)
            cluster.remove(record.node)  # the node goes away in the middle of epoch 2

    try:
        executor.devices()
        executor.submit([config])
        executor.drive(on_event, StopRequest())
    finally:
        executor.close(wait_s=30)
        cluster.add()  # the next tests have two nodes again
    (record,) = load_records(store)[0]
    assert lost and record.status == "done"
    assert sorted(record.accuracies) == [1, 2, 3]  # continuous epochs, none counted twice
    assert record.node != lost[0] and record.node in cluster.nodes.values()
    events = [json.loads(line) for line in (runs_dir / record.run_id / "events.jsonl").read_text().splitlines()]
    (resumed,) = [e for e in events if e["event"] == "run_resumed"]
    assert resumed["reason"] == f"resumed on {record.node} after {lost[0]} was lost during epoch 2" and resumed["from_epoch"] == 2
    assert [e["epoch"] for e in events if e["event"] == "epoch_ended"] == [1, 2, 3]
    steps = [e["step"] for e in events if e["event"] == "batch_logged"]
    assert record.batch_points[-1].step == steps[-1] == 3 * 100 and [p.x for p in record.batch_points] == sorted(p.x for p in record.batch_points)
    assert load_checkpoint(runs_dir / record.run_id / "checkpoint.pt")["epoch"] == 3
    assert record.seconds >= resumed["elapsed"] > 0  # one clock from the run's start
    ended = {e["epoch"]: e for e in events if e["event"] == "epoch_ended"}
    assert ended[3]["seconds"] <= ended[3]["elapsed"] - ended[2]["elapsed"] + 0.5  # an epoch's length stays its own


async def test_the_dashboard_follows_a_ray_sweep_and_x_stops_one_run(cluster, env, runs_dir):
    from tests.test_dashboard import table
    from tests.waiting import wait_for
    from tui.app import create_app

    app = create_app(runs_dir=runs_dir, warm=False, ray_address=cluster.address)
    configs = expand_grid({"lr": "0.01,0.02", "train_size": "12800", "test_size": "200", "epochs": "3", "log_every": "5"}, "sweep-r")
    async with app.run_test(size=(120, 36)) as pilot:
        first, second = app.dashboard.start_sweep(configs)
        records = app.state.records
        await wait_for(pilot, lambda: all(records[r].status == "running" and records[r].losses for r in (first, second)), timeout=120)
        assert {records[first].node, records[second].node} == set(cluster.nodes.values())
        table(app).focus()
        table(app).move_cursor(row=table(app).row_keys_shown().index(first), column=1)
        await pilot.press("x")
        await wait_for(pilot, lambda: records[first].status == "stopped", timeout=60)
        assert records[first].message == "stopped by the user (x in the dashboard)"
        assert records[second].status == "running"  # only that one
        app.leave("the dashboard was closed", 0, keep=True)  # q, "keep training"
    stopped = json.loads((runs_dir / first / "events.jsonl").read_text().splitlines()[-1])
    assert stopped["event"] == "run_stopped" and Path(stopped["checkpoint"]) == runs_dir / first / "checkpoint.pt"
    # The process driving the Ray tasks outlives the dashboard: the other run trains to its end.
    def second_run():
        return next(r for r in load_records(RunStore(runs_dir))[0] if r.run_id == second)

    wait_until(lambda: second_run().finished, 120, "the other run to end", poll_s=0.5)
    run = second_run()
    assert run.status == "done" and sorted(run.accuracies) == [1, 2, 3]


def test_token_authentication_refuses_a_client_without_the_token_and_a_lost_cluster_interrupts(temp_root, runs_dir, data_dir):
    token = secrets.token_hex(16)
    secured = RayCluster(1, ray_env(temp_root + "/auth", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token))
    try:
        for client in ({"RAY_AUTH_MODE": "disabled"}, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "wrong"}):
            started = time.monotonic()
            refused = cli("sweep", "--ray", secured.address, "--lr", "0.01", *SMALL, "--runs-dir", str(runs_dir),
                          env=ray_env(temp_root + "/auth", **client), timeout=120)
            assert refused.returncode == 2 and time.monotonic() - started < 30
            (line,) = refused.stderr.splitlines()  # one line, no gRPC trace
            assert line.startswith(f"mnist-tui: error: --ray: the Ray cluster at {secured.address} ") and "token" in line
        assert not runs_dir.exists() or not any(runs_dir.iterdir())
        # With the token it trains, and says nothing of tokens; then the cluster goes away mid-run.
        with_token = ray_env(temp_root + "/auth", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
        process = subprocess.Popen([sys.executable, "-m", "tui", "sweep", "--ray", secured.address, "--lr", "0.01", "--train-size",
                                    "12800", "--test-size", "200", "--epochs", "3", "--log-every", "5", "--runs-dir", str(runs_dir)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=with_token)
        for line in process.stdout:
            if "[1, 5] loss" in line:
                break
        secured.close()  # every node of the cluster stops
        out, err = process.communicate(timeout=120)
        assert process.returncode == 1 and "token" not in err
        assert f"interrupted: the Ray cluster at {secured.address} went away during epoch 1" in out
    finally:
        secured.close()
    (record,) = load_records(RunStore(runs_dir))[0]
    assert record.status == "interrupted" and "went away during epoch 1" in record.message


def test_a_client_in_token_mode_on_a_cluster_without_tokens_ends_in_one_line(cluster, runs_dir):
    """It connects and runs plain tasks, but a run's events never come back (it hung for good)."""
    started = time.monotonic()
    result = cli("sweep", "--ray", cluster.address, "--lr", "0.01", *SMALL, "--runs-dir", str(runs_dir),
                 env={**cluster.env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "not-needed-here"}, timeout=150)
    assert result.returncode == 2 and time.monotonic() - started < 120
    (line,) = result.stderr.splitlines()
    assert "a test task's result did not come back within 60 s" in line and "was the cluster started with RAY_AUTH_MODE=token" in line


def test_an_address_where_no_cluster_answers_ends_in_one_line_within_seconds(temp_root, runs_dir):
    started = time.monotonic()
    result = cli("sweep", "--ray", "127.0.0.1:1", "--lr", "0.01", *SMALL, "--runs-dir", str(runs_dir), env=ray_env(temp_root + "/none"), timeout=120)
    assert result.returncode == 2 and time.monotonic() - started < 40
    (line,) = result.stderr.splitlines()
    assert line.startswith("mnist-tui: error: --ray: no Ray cluster answers at 127.0.0.1:1")


def test_without_ray_the_flag_says_how_to_get_it(tmp_path, runs_dir):
    site = tmp_path / "no-ray"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None  # as if it were not installed\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    for args in (["sweep", "--ray", "--lr", "0.1"], ["--ray", "auto"]):
        result = cli(*args, "--runs-dir", str(runs_dir), env=env, timeout=60)
        assert result.returncode == 2
        assert result.stderr.strip() == "mnist-tui: error: --ray: Ray is not installed here; install the ray extra: pip install -e '.[ray]' in mnist-tui's checkout"
