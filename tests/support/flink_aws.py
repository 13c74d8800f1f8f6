"""What the AWS end-to-end tests of the packaged Managed Flink applications share: the environment of a
deployment onto a moto server, the zip `imagify deploy` uploaded, unpacked and run as the service would
start it on the local mini-cluster (:class:`App`), checkpoints in S3, and the records of the stream.

Used by tests/e2e/test_e2e_aws.py (the landing application) and tests/e2e/test_e2e_aws_realtime.py (the
real-time one)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from flink_jobs import job_control, jvm_artifacts, managed_app
from foundation import config
from foundation.config import REPO_ROOT
from support.aws_calls import Call, denied, platform_role, unused
from support.aws_helpers import ACCOUNT, REGION
from support.fault_helpers import NO_VOLUME_CHECK

FLINK_PYTHON = REPO_ROOT / ".venv-flink" / "bin" / "python"
PYFLINK_HOME = next((REPO_ROOT / ".venv-flink" / "lib").glob("python3*/site-packages/pyflink"), None)
# the service keeps a running application's checkpoints itself; the local run keeps them in a bucket of
# its own, outside what the application's role is checked against
CHECKPOINTS_BUCKET = "local-flink-checkpoints"
ARTIFACTS_BUCKET = f"imagify-artifacts-{ACCOUNT}-{REGION}"
LAKE_BUCKET = f"imagify-lake-{ACCOUNT}-{REGION}"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def aws_env(home: Path, endpoint: str) -> dict[str, str]:
    env = {**os.environ, **NO_VOLUME_CHECK}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "DAGSTER_HOME"):
        env.pop(name, None)
    return {
        **env,
        "IMAGIFY_HOME": str(home),
        "IMAGIFY_ENV": "aws",
        "IMAGIFY_AWS_ENDPOINT_URL": endpoint,
        "IMAGIFY_AWS_REGION": REGION,
        "IMAGIFY_AWS_ACCOUNT_ID": ACCOUNT,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def s3_plugins(tmp_path: Path) -> Path:
    """A plugins directory with Flink's S3 file system (the service ships its own)."""
    plugins = tmp_path / "plugins" / "s3-fs-hadoop"
    plugins.mkdir(parents=True)
    (plugins / "flink-s3-fs-hadoop.jar").symlink_to(jvm_artifacts.jars("s3")[0])
    return plugins.parent


class App:
    """The unpacked application, started as the service would start it (`python main.py`), with the
    local stand-ins of what the service provides (managed_app.LOCAL_GROUP)."""

    def __init__(self, root: Path, env: dict[str, str], endpoint: str, checkpoints: str, plugins: Path) -> None:
        """``endpoint``: where the job's Kinesis and S3 calls go (the recording proxy)."""
        self.root, self.checkpoints = root, checkpoints
        # The app is SIGKILLed halfway, so its JVM never removes its working files (a ~45 MB planner jar,
        # shuffle, I/O and blob directories): keep them under the test's directory, not in /tmp, where
        # they piled up run after run until the machine's disk was full.
        tmp = root / "tmp"
        tmp.mkdir(exist_ok=True)
        self.env = {**env, "FLINK_HOME": str(PYFLINK_HOME), "FLINK_PLUGINS_DIR": str(plugins), "CBOR_ENABLED": "false",
                    **job_control.tmp_env(tmp, env)}
        self.local = {
            "aws.endpoint": endpoint,
            "s3.endpoint": endpoint,
            "s3.path.style.access": "true",
            "s3.access-key": "testing",
            "s3.secret-key": "testing",
            "checkpoint.dir": checkpoints,
            "checkpoint.interval.ms": "2000",
            # the Parallelism both stacks deploy by default (IMAGIFY_MSF_PARALLELISM,
            # IMAGIFY_REALTIME_PARALLELISM): the service runs the job that wide
            "parallelism": "1",
        }
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    def start(self, restore: str | None = None) -> None:
        groups = json.loads((self.root / "application_properties.json").read_text())
        local = {**self.local, **({"restore.path": restore} if restore else {})}
        groups.append({"PropertyGroupId": managed_app.LOCAL_GROUP, "PropertyMap": local})
        props = self.root / f"local-properties-{self.runs}.json"
        props.write_text(json.dumps(groups))
        log = (self.root / f"run-{self.runs}.log").open("w")
        self.runs += 1
        self.proc = subprocess.Popen(
            [str(FLINK_PYTHON), "main.py"],
            cwd=self.root,
            stdout=log,
            stderr=log,
            env={**self.env, "IMAGIFY_FLINK_PROPERTIES": str(props)},
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n"
            + "\n".join(ln for ln in p.read_text().splitlines() if not ln.startswith("WARNING"))[-4000:]
            for p in sorted(self.root.glob("run-*.log"))
        )

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"the packaged app exited with {self.proc.returncode}:\n{self.logs()}")


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    out: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def newest_checkpoint(s3: Any, bucket: str) -> str | None:
    done = [k.rsplit("/", 1)[0] for k in keys(s3, bucket, "checkpoints/") if k.endswith("/_metadata")]
    return max(done, key=lambda k: int(k.rsplit("chk-", 1)[1]), default=None)


def unpack_uploaded(s3: Any, application: str, target: Path) -> Path:
    """The zip `imagify deploy` uploaded for ``application`` (landing, realtime), unpacked into ``target``."""
    packages = [k for k in keys(s3, ARTIFACTS_BUCKET, f"flink/imagify-{application}-") if k.endswith(".zip")]
    assert len(packages) == 1, packages
    body = s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=packages[0])["Body"].read()
    zipfile.ZipFile(io.BytesIO(body)).extractall(target)
    return target


def stream_records(kinesis: Any, stream: str) -> list[bytes]:
    """Every record of the stream in shard order (the order a reader of one shard gets them)."""
    records: list[bytes] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while it:
            resp = kinesis.get_records(ShardIterator=it, Limit=10000)
            records += [r["Data"] for r in resp["Records"]]
            it = resp.get("NextShardIterator") if resp["Records"] else None
    return records


def stack_output(cloudformation: Any, stack: str, name: str) -> str:
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == name)


def check_roles(
    env: dict[str, str], called: dict[str, set[Call]], key_arn: str, service_does: dict[str, set[str]]
) -> None:
    """IAM by the calls: each role of infra/platform.yaml, as `imagify deploy` created it in ``env``, allows
    every call its component made, and grants nothing beyond them but what ``service_does`` excuses."""
    with pytest.MonkeyPatch.context() as mp:  # the settings of the deploy's environment
        for name, value in env.items():
            mp.setenv(name, value)
        deployed = config.load()
    for role, calls in called.items():
        print(f"{role} calls: {', '.join(sorted({c.action for c in calls}))}")
        statements = platform_role(deployed, role, key_arn, REGION, ACCOUNT)
        assert not denied(statements, calls), f"{role} does not allow: {denied(statements, calls)}"
        assert unused(statements, calls) <= service_does[role], (
            f"{role} grants what nobody called: {unused(statements, calls) - service_does[role]}"
        )
