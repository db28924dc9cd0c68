"""The runner's job protocol: what a runner process reads on stdin and says on stdout.

Both kinds of runner speak it: the local one (core.execution.runner) and the Ray driver
(core.execution.ray_driver, `runner --ray ADDRESS`); the launcher (core.execution.launcher)
writes the jobs and reads the lines. A job is one JSON line on stdin:

    {"runs_dir": "/abs/runs", "data_dir": null,
     "jobs": [{"run_id": "...", "config": {RunConfig fields}}, ...],  # trained one after another
     "after": ["run id", ...]}                                       # first wait until these end

End of file means no more jobs. On stdout a runner says, one JSON line each (say):

    {"ready": true, "pid": 123, "devices": [[label, spec], ...]}   # a Ray driver adds "ray": {the cluster}
    {"ready": false, "error": "why it cannot train"}
    {"last_words": {a RunFailed event}}                            # a run's folder could not be written
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Iterator

from core.config import ConfigError, RunConfig

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")  # a folder name, never a path


class JobError(ValueError):
    """The job line is not one this runner can train (the message says which field and why)."""


def parse_job(line: str) -> dict:
    """The job line, checked: every field of the right type, every config valid. Returns
    {"runs_dir": str, "data_dir": str | None, "jobs": [(run_id, RunConfig), ...], "after": [run_id, ...]};
    raises JobError."""
    try:
        job = json.loads(line)
    except ValueError as bad:
        raise JobError(f"the job is not JSON: {bad}") from None
    if not isinstance(job, dict) or not isinstance(job.get("runs_dir"), str) or not isinstance(job.get("jobs"), list):
        raise JobError("the job needs runs_dir (text) and jobs (a list)")
    if job.get("data_dir") is not None and not isinstance(job["data_dir"], str):
        raise JobError("data_dir must be text or null")
    after = job.get("after", [])
    if not isinstance(after, list) or not all(isinstance(r, str) and RUN_ID.fullmatch(r) for r in after):
        raise JobError("after must be a list of run ids")
    runs = []
    for entry in job["jobs"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("run_id"), str) or not RUN_ID.fullmatch(entry["run_id"]):
            raise JobError(f"a job has no valid run_id: {str(entry)[:120]}")
        try:
            config = RunConfig.from_dict(entry.get("config"))
        except (ConfigError, TypeError, ValueError, AttributeError) as bad:
            raise JobError(f"{entry['run_id']}: bad config: {bad}") from None
        runs.append((entry["run_id"], config))
    return {"runs_dir": job["runs_dir"], "data_dir": job.get("data_dir"), "jobs": runs, "after": after}


def job_lines() -> Iterator[dict]:
    """Each job line on stdin, parsed (parse_job), until end of file; a bad line raises JobError."""
    for line in iter(sys.stdin.readline, ""):
        if line.strip():
            yield parse_job(line)


def say(message: dict) -> None:
    """A line on stdout; a reader that has gone (the dashboard quit meanwhile) is not an error:
    stdout then goes to /dev/null, so later lines (and prints) cannot fail either."""
    try:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        stdout_to_devnull()


def stdout_to_devnull() -> None:
    """Point file descriptor 1 at /dev/null (after the last line a reader waits for, or once it has gone)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
