"""The Managed Flink package (built with placeholder jars), the Kinesis source DDL, and the
application properties the job reads."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from flink_jobs import managed_app, sinks, sources
from flink_jobs.pipeline import lake_paths
from imagify import config
from imagify.config import REPO_ROOT
from imagify.flink_package import CONNECTORS, PYTHON_SOURCES, build, is_placeholder

ACCOUNT = "123456789012"
ARN = f"arn:aws:kinesis:ap-southeast-1:{ACCOUNT}:stream/imagify-events"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> config.Settings:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    monkeypatch.setenv("IMAGIFY_AWS_REGION", "ap-southeast-1")
    monkeypatch.setenv("IMAGIFY_AWS_ACCOUNT_ID", ACCOUNT)
    return config.load()


def test_package_layout_and_properties(settings: config.Settings, tmp_path: Path) -> None:
    names = settings.aws_names()
    pkg = build(settings, names, out_dir=tmp_path / "out", jars_dir=tmp_path / "nojars", placeholder_jars=True)
    assert pkg.path.name == f"imagify-landing-{pkg.version}-PLACEHOLDER.zip" and is_placeholder(pkg.path)
    with zipfile.ZipFile(pkg.path) as zf:
        listing = set(zf.namelist())
        expected = {"main.py", "application_properties.json", "CONNECTORS.txt"}
        expected |= {f"python/{pkg_}/{m}" for pkg_, mods in PYTHON_SOURCES.items() for m in mods}
        expected |= {f"lib/{c.jar_name}" for c in CONNECTORS}
        assert listing == expected
        props = json.loads(zf.read("application_properties.json"))
        zf.extractall(tmp_path / "x")
    groups = {g["PropertyGroupId"]: g["PropertyMap"] for g in props}
    run = groups["kinesis.analytics.flink.run.options"]
    assert run["python"] in listing and run["jarfile"] in listing
    cfg = managed_app.app_config(managed_app.load_properties(tmp_path / "x" / "application_properties.json"))
    assert cfg.stream_arn == ARN and cfg.region == "ap-southeast-1" and cfg.init_position == "TRIM_HORIZON"
    assert cfg.lake_root == f"s3://imagify-lake-{ACCOUNT}-ap-southeast-1/lake"
    assert cfg.package_version == pkg.version and cfg.dedup_ttl_h == settings.dedup_ttl_h
    # the packaged python is importable as the service will run it (stdlib parts, no PyFlink here)
    code = "import sys; sys.path.insert(0, 'python'); import flink_jobs.managed_app, flink_jobs.sources, " \
           "flink_jobs.sinks, ingestion.contract; print('ok')"
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path / "x", capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_package_is_deterministic_and_versioned_by_content(settings: config.Settings, tmp_path: Path) -> None:
    names = settings.aws_names()
    a = build(settings, names, out_dir=tmp_path / "a", placeholder_jars=True)
    b = build(settings, names, out_dir=tmp_path / "b", placeholder_jars=True)
    assert a.version == b.version and a.path.read_bytes() == b.path.read_bytes()


def test_package_without_jars_says_how_to_get_them(settings: config.Settings, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make flink-jars"):
        build(settings, settings.aws_names(), out_dir=tmp_path, jars_dir=tmp_path / "empty")


def test_every_module_the_job_imports_is_packaged() -> None:
    packaged = {f"{p}.{m.removesuffix('.py')}" for p, mods in PYTHON_SOURCES.items() for m in mods}
    packaged |= set(PYTHON_SOURCES)
    for name in packaged:
        pkg, _, mod = name.partition(".")
        path = REPO_ROOT / pkg / (f"{mod}.py" if mod else "__init__.py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PYTHON_SOURCES:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                assert any(t in packaged for t in targets), f"{path} imports {node.module}, not packaged"


def test_application_properties_missing_keys_are_named() -> None:
    with pytest.raises(ValueError, match="imagify.source/stream.arn"):
        managed_app.app_config({"imagify.source": {"aws.region": "x"}})


def test_kinesis_source_ddl() -> None:
    ddl = sources.kinesis_source(ARN, "ap-southeast-1", "LATEST")
    for opt in ("'connector' = 'kinesis'", f"'stream.arn' = '{ARN}'", "'aws.region' = 'ap-southeast-1'",
                "'source.init.position' = 'LATEST'", "'format' = 'raw'"):
        assert opt in ddl
    with pytest.raises(ValueError, match="not a Kinesis stream ARN"):
        sources.kinesis_source("imagify-events", "ap-southeast-1")
    with pytest.raises(ValueError, match="differs"):
        sources.kinesis_source(ARN, "us-east-1")
    with pytest.raises(ValueError, match="init_position"):
        sources.kinesis_source(ARN, "ap-southeast-1", "EARLIEST")


def test_s3_sink_paths() -> None:
    paths = lake_paths("s3://bucket/lake/")
    assert paths == {"events": "s3://bucket/lake/events", "quarantine": "s3://bucket/lake/quarantine",
                     "audit": "s3://bucket/lake/_landing_audit"}
    assert "'path' = 's3://bucket/lake/events'" in sinks.events_sink(paths["events"])


DESCRIBE = """
import json, sys
from pyflink.table import EnvironmentSettings, TableEnvironment
from flink_jobs import sources
out = {}
for name, ddl in [("segments", sources.segment_log_source("/tmp/none")),
                  ("kinesis", sources.kinesis_source(sys.argv[1], "ap-southeast-1"))]:
    t = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t.execute_sql(ddl)
    rows = t.execute_sql("DESCRIBE " + sources.SOURCE_TABLE).collect()
    with rows:
        out[name] = [[str(r[0]), str(r[1]), bool(r[2])] for r in rows]
print(json.dumps(out))
"""


def test_kinesis_source_has_the_columns_of_the_segment_source() -> None:
    """Flink's own parser and catalog (in .venv-flink): same names, types and nullability."""
    py = REPO_ROOT / ".venv-flink" / "bin" / "python"
    if not py.exists():
        pytest.skip(".venv-flink missing: run make setup")
    proc = subprocess.run([str(py), "-c", DESCRIBE, ARN], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=240, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    cols = json.loads(proc.stdout.strip().splitlines()[-1])
    assert cols["kinesis"] == cols["segments"]
    assert [c[0] for c in cols["kinesis"]] == ["line", "segment", "pt"]
