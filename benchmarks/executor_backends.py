"""What a run costs on each backend of the executor, side by side in one process.

1. `--backends` (default): the same run trained by a local runner process and as a Ray task on a
   one-node Ray cluster on this machine (tests/ray_cluster.py, 127.0.0.1 only), alternating
   rounds. Start latency: from submit to the run's `run_started` (its `started_at`); samples/s:
   the run's own `batch_logged` windows after the first (warm-up) one. The runner of each side
   is started once and kept (as a sweep's slot is), so the first round's torch import is shown
   apart and the later rounds measure a run handed to a ready runner or worker.
2. `--packing`: the report's 15-run `reproduce` (or a subset: --train-size) with
   `--runs-per-device 1` and then `2` on one device, wall time of each; on a GPU this is the
   figure that matters (gpu_check.sh runs it there).

    .venv/bin/python benchmarks/executor_backends.py --rounds 3
    .venv/bin/python benchmarks/executor_backends.py --packing --device cpu --train-size 3200 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run_once(executor, config) -> dict:
    from core.runstore.results import load_records
    from core.training.stop import StopRequest

    events = []
    submitted = time.time()
    (run_id, _), = executor.submit([config])
    executor.drive(events.append, StopRequest())
    started = next(e for e in events if e.kind == "run_started")
    windows = [e for e in events if e.kind == "batch_logged"][1:]
    samples = statistics.mean(e.samples_per_sec for e in windows) if windows else float("nan")
    (record,) = [r for r in load_records(executor.store)[0] if r.run_id == run_id]
    return {"latency": started.started_at - submitted, "samples_per_sec": samples, "status": record.status}


def backends(args) -> None:
    from core.config import RunConfig
    from core.execution.executor import Executor
    from core.runstore.store import RunStore

    temp = tempfile.mkdtemp(prefix="mt-bench-", dir="/tmp")
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": temp,
           "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": str(args.threads)}
    os.environ.update({k: v for k, v in env.items() if k.startswith(("RAY_", "OMP_"))})
    cluster = subprocess.Popen([sys.executable, "-m", "tests.ray_cluster", "1"], cwd=REPO, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    address = json.loads(cluster.stdout.readline())["address"]
    config = RunConfig(train_size=args.train_size, test_size=500, epochs=args.epochs, log_every=20, device="cpu")
    store = RunStore(Path(temp) / "runs")
    local = Executor(store, args.data_dir, warm=False, new_session=False)
    ray = Executor(store, args.data_dir, ray_address=address, warm=False, new_session=False)
    local.launcher.release_slot = lambda slot: None  # keep each side's runner between rounds (a sweep's slot does)
    results = {"local": [], "ray": []}
    try:
        for side in (local, ray):
            side.devices()
        for round_ in range(args.rounds + 1):
            for name, side in (("local", local), ("ray", ray)) if round_ % 2 == 0 else (("ray", ray), ("local", local)):
                result = run_once(side, config)
                results[name].append(result)
                print(f"round {round_} {name:5}: start {result['latency']:.2f} s, {result['samples_per_sec']:,.0f} samples/s ({result['status']})", flush=True)
    finally:
        local.close(wait_s=30)
        ray.close(wait_s=30)
        cluster.stdin.close()
        cluster.wait(timeout=60)
    print(f"\n{config.train_size} images x {config.epochs} epochs, cnn, batch 64, cpu, {args.threads} thread(s); round 0 (cold: torch imported) left out")
    for name in ("local", "ray"):
        later = results[name][1:]
        print(f"{name:5}: cold start {results[name][0]['latency']:.2f} s; then start median {statistics.median(r['latency'] for r in later):.2f} s, "
              f"samples/s median {statistics.median(r['samples_per_sec'] for r in later):,.0f}")
    ratio = statistics.median(r["samples_per_sec"] for r in results["ray"][1:]) / statistics.median(r["samples_per_sec"] for r in results["local"][1:])
    print(f"Ray / local samples/s: {ratio:.3f} (Ray costs {max(0.0, 1 - ratio) * 100:.1f}%; goal: under 5%)")


def packing(args) -> None:
    times = {}
    for per_device in (1, 2):
        runs = tempfile.mkdtemp(prefix="mt-pack-")
        command = [sys.executable, "-m", "tui", "reproduce", "--seeds", args.seeds, "--epochs", str(args.epochs), "--device", args.device,
                   "--runs-per-device", str(per_device), "--runs-dir", runs]
        if args.train_size:
            command += ["--train-size", str(args.train_size)]
        started = time.monotonic()
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        times[per_device] = time.monotonic() - started
        print(f"--runs-per-device {per_device}: {times[per_device]:.1f} s (exit {done.returncode})", flush=True)
        if done.returncode:
            print(done.stderr[-2000:])
    print(f"reproduce, seeds {args.seeds}, {args.epochs} epoch(s), {args.device}, train size {args.train_size or 'all'}: "
          f"2 per device / 1 per device wall time = {times[2] / times[1]:.2f} (speed-up {times[1] / times[2]:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packing", action="store_true", help="reproduce with --runs-per-device 1 vs 2 instead")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=6400)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides (Ray gives a 1-CPU task one)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_TUI_DATA"))
    args = parser.parse_args()
    packing(args) if args.packing else backends(args)


if __name__ == "__main__":
    main()
