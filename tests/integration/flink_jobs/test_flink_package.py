"""The Managed Flink package (its one jarfile merged from the pinned jars), the Kinesis source DDL,
and the application properties the job reads. The package running for real: tests/e2e/test_e2e_aws.py."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

from flink_jobs import jvm_artifacts, managed_app, sinks, sources
from flink_jobs.pipeline import lake_paths
from foundation import config
from foundation.config import REPO_ROOT
from imagify.flink_package import (
    APPS,
    JARFILE,
    PYTHON_SOURCES,
    REALTIME,
    app_jars,
    application_properties,
    build,
    merge_jars,
)
from realtime.job import managed_app as realtime_managed_app
from realtime.job import sinks as realtime_sinks

pytestmark = pytest.mark.flink

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
    pkg = build(settings, names, out_dir=tmp_path / "out")
    assert pkg.path.name == f"imagify-landing-{pkg.version}.zip"
    with zipfile.ZipFile(pkg.path) as zf:
        listing = set(zf.namelist())
        expected = {"main.py", "application_properties.json", "JARS.txt", JARFILE}
        expected |= {f"python/{pkg_}/{m}" for pkg_, mods in PYTHON_SOURCES.items() for m in mods}
        assert listing == expected
        props = json.loads(zf.read("application_properties.json"))
        provenance = zf.read("JARS.txt").decode()
        zf.extractall(tmp_path / "x")
    # every merged jar is named with its pinned coordinates (or what built it) and its SHA-256
    assert len(provenance.splitlines()) == len(app_jars())
    assert f"{jvm_artifacts.KINESIS_CONNECTOR} (built from jvm/vendor)" in provenance
    assert "org.apache.flink:flink-sql-parquet:2.3.0" in provenance and "software.amazon.awssdk:kinesis:" in provenance
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
    a = build(settings, names, out_dir=tmp_path / "a")
    b = build(settings, names, out_dir=tmp_path / "b")
    assert a.version == b.version and a.path.read_bytes() == b.path.read_bytes()
    # built again where it is: a new file renamed over the old one (a deploy reading the old zip reads all
    # of it), nothing left aside
    inode = a.path.stat().st_ino
    again = build(settings, names, out_dir=tmp_path / "a")
    assert again.path == a.path and a.path.stat().st_ino != inode
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [a.path.name]


def test_package_without_jars_says_how_to_get_them(settings: config.Settings, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jvm_artifacts, "ARTIFACTS_DIR", tmp_path / "empty")
    monkeypatch.setattr(jvm_artifacts.jars, "__defaults__", ("landing", tmp_path / "empty"))
    monkeypatch.setattr(jvm_artifacts.kinesis_jars, "__defaults__", (tmp_path / "empty",))
    with pytest.raises(FileNotFoundError, match="make setup"):
        build(settings, settings.aws_names(), out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_merged_jar_keeps_every_service_and_refuses_clashing_classes(tmp_path: Path) -> None:
    def jar(name: str, entries: dict[str, bytes]) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            for entry, data in entries.items():
                zf.writestr(entry, data)
        return path

    svc = "META-INF/services/org.apache.flink.table.factories.Factory"
    a = jar("a.jar", {svc: b"# licence\na.Factory\n", "a/A.class": b"A", "META-INF/NOTICE": b"a",
                      "META-INF/MANIFEST.MF": b"x", "META-INF/SIGNER.SF": b"s", "module-info.class": b"m"})
    b = jar("b.jar", {svc: b"b.Factory\na.Factory\n", "a/A.class": b"A", "META-INF/NOTICE": b"b"})
    out = tmp_path / "out.jar"
    out.write_bytes(merge_jars([a, b]))
    with zipfile.ZipFile(out) as zf:
        assert zf.read(svc).decode().splitlines() == ["a.Factory", "b.Factory"]
        assert zf.read("META-INF/bundled/a/NOTICE") == b"a" and zf.read("META-INF/bundled/b/NOTICE") == b"b"
        assert "META-INF/SIGNER.SF" not in zf.namelist() and "module-info.class" not in zf.namelist()
    clash = jar("c.jar", {"a/A.class": b"other"})
    with pytest.raises(ValueError, match="a/A.class differs"):
        merge_jars([a, clash])


def test_the_jarfile_carries_the_connector_the_formats_and_the_contract(settings: config.Settings,
                                                                         tmp_path: Path) -> None:
    pkg = build(settings, settings.aws_names(), out_dir=tmp_path)
    with zipfile.ZipFile(pkg.path) as zf:
        (tmp_path / "app.jar").write_bytes(zf.read(JARFILE))
    with zipfile.ZipFile(tmp_path / "app.jar") as jar:
        names = set(jar.namelist())
        factories = jar.read("META-INF/services/org.apache.flink.table.factories.Factory").decode()
    assert "org.apache.flink.connector.kinesis.table.KinesisDynamicTableFactory" in factories
    assert "org.apache.flink.formats.parquet.ParquetFileFormatFactory" in factories
    assert "ai/imagify/flink/LandingStreams.class" in names
    assert "software/amazon/awssdk/services/kinesis/KinesisAsyncClient.class" in names


@pytest.mark.parametrize("app", APPS, ids=lambda a: a.name)
def test_every_module_the_job_imports_is_packaged(app) -> None:  # type: ignore[no-untyped-def]
    sources_ = app.python_sources
    # a folder of sources is a package (realtime/job: realtime.job)
    packaged = {f"{p.replace('/', '.')}.{m.removesuffix('.py')}" for p, mods in sources_.items() for m in mods}
    packaged |= {p.replace("/", ".") for p in sources_}
    roots = {p.split("/")[0] for p in sources_}
    assert app.main_module in packaged
    for name in packaged:
        path = REPO_ROOT.joinpath(*name.split("."))
        path = path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in roots:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                assert any(t in packaged for t in targets), f"{path} imports {node.module}, not packaged"


def test_realtime_package_layout_properties_and_jarfile(settings: config.Settings, tmp_path: Path) -> None:
    """The real-time application's own zip: its entry point, its job's modules, a jarfile with the Kinesis
    connector and the Java operators (no Parquet), and the properties its app reads."""
    names = settings.aws_names()
    pkg = build(settings, names, out_dir=tmp_path / "out", app=REALTIME)
    landing = build(settings, names, out_dir=tmp_path / "out")
    assert pkg.path.name == f"imagify-realtime-{pkg.version}.zip" and pkg.version != landing.version
    with zipfile.ZipFile(pkg.path) as zf:
        expected = {"main.py", "application_properties.json", "JARS.txt", REALTIME.jarfile}
        expected |= {f"python/{p}/{m}" for p, mods in REALTIME.python_sources.items() for m in mods}
        assert set(zf.namelist()) == expected
        assert "from realtime.job.managed_app import main" in zf.read("main.py").decode()
        zf.extractall(tmp_path / "x")
    with zipfile.ZipFile(tmp_path / "x" / REALTIME.jarfile) as jar:
        classes = set(jar.namelist())
        factories = jar.read("META-INF/services/org.apache.flink.table.factories.Factory").decode()
    assert "org.apache.flink.connector.kinesis.table.KinesisDynamicTableFactory" in factories
    assert "parquet" not in factories.lower()
    assert {"ai/imagify/realtime/RealtimeStreams.class", "ai/imagify/terms/prompt_stopwords.csv"} <= classes
    cfg = realtime_managed_app.app_config(managed_app.load_properties(tmp_path / "x" / "application_properties.json"))
    assert cfg.stream_arn == ARN and cfg.lake_root == f"s3://imagify-lake-{ACCOUNT}-ap-southeast-1/lake"
    assert (cfg.checkpoint_ms, cfg.allowed_lateness_s) == (settings.realtime_checkpoint_ms,
                                                           settings.realtime_allowed_lateness_s)
    assert (cfg.out_of_orderness_s, cfg.dedup_ttl_min, cfg.package_version) == (
        settings.realtime_out_of_orderness_s, settings.realtime_dedup_ttl_min, pkg.version)
    # the packaged python is importable as the service will run it (stdlib parts, no PyFlink here)
    code = "import sys; sys.path.insert(0, 'python'); import realtime.job.managed_app, " \
           "realtime.job.transform, realtime.job.local; print('ok')"
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path / "x", capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_realtime_app_writes_where_the_local_job_does_under_the_s3_lake(settings: config.Settings) -> None:
    """Its sinks are the realtime_sinks tables at <lake>/realtime/<directory> (the Glue tables' locations,
    tests/integration/infra/test_infra.py), and no live-store sink: on AWS the live view is QuickSight over
    those tables."""
    props = application_properties(settings, settings.aws_names(), "v1", REALTIME)
    cfg = realtime_managed_app.app_config({g["PropertyGroupId"]: g["PropertyMap"] for g in props})
    ddls = realtime_managed_app.table_ddls(cfg)
    assert ddls[1:] == realtime_sinks.lake_sinks(f"s3://imagify-lake-{ACCOUNT}-ap-southeast-1/lake")
    for table, directory in realtime_sinks.DIRECTORIES.items():
        assert f"'path' = 's3://imagify-lake-{ACCOUNT}-ap-southeast-1/lake/realtime/{directory}'" in \
            next(d for d in ddls if f"CREATE TABLE {table} " in d)
    assert not any("'connector' = 'jdbc'" in d for d in ddls)
    assert "'connector' = 'kinesis'" in ddls[0] and realtime_managed_app.options(cfg).store_path is None
    assert "'aws.endpoint'" not in ddls[0]  # on the service: its endpoints


def test_two_applications_poll_a_shard_within_its_read_limit(settings: config.Settings) -> None:
    """Both applications poll the same shards (no enhanced fan-out): their idle polls together stay below
    a shard's 5 GetRecords a second, with room for the polls that return records."""
    landing = managed_app.table_ddls(managed_app.app_config(
        {g["PropertyGroupId"]: g["PropertyMap"] for g in application_properties(settings, settings.aws_names(), "v")}))
    realtime = realtime_managed_app.table_ddls(realtime_managed_app.app_config(
        {g["PropertyGroupId"]: g["PropertyMap"]
         for g in application_properties(settings, settings.aws_names(), "v", REALTIME)}))
    interval = re.compile(r"'source\.reader\.empty-records-fetch-interval' = '(\d+) ms'")
    polls = [1000 / int(interval.findall(ddls[0])[0]) for ddls in (landing, realtime)]
    assert sum(polls) <= 3.5, polls


def test_realtime_application_properties_are_checked() -> None:
    props = {g["PropertyGroupId"]: dict(g["PropertyMap"]) for g in application_properties(
        config.load(), config.load().aws_names(ACCOUNT), "v", REALTIME)}
    del props["imagify.job"]["allowed.lateness.s"]
    with pytest.raises(ValueError, match="imagify.job/allowed.lateness.s"):
        realtime_managed_app.app_config(props)
    props["imagify.job"]["allowed.lateness.s"] = "ten minutes"
    with pytest.raises(ValueError, match="must be numbers"):
        realtime_managed_app.app_config(props)
    props["imagify.job"]["allowed.lateness.s"] = "-1"
    with pytest.raises(ValueError, match="allowed.lateness.s out of range"):
        realtime_managed_app.app_config(props)


def test_application_properties_missing_keys_are_named() -> None:
    with pytest.raises(ValueError, match="imagify.source/stream.arn"):
        managed_app.app_config({"imagify.source": {"aws.region": "x"}})


ROLL_INTERVAL = re.compile(r"'sink\.rolling-policy\.(?:rollover|inactivity)-interval' = '(\d+) ms'")


def test_managed_app_rolls_lake_files_once_per_service_checkpoint(settings: config.Settings) -> None:
    """On the service the job checkpoints every CheckpointInterval of infra/flink-app.yaml. The template
    hands the job that same parameter; the job rolls lake files no more often (with a 60 s checkpoint,
    a 2 s roll made 30 files a minute per writer, all committed at once)."""
    template, errors = decode_str((REPO_ROOT / "infra" / "flink-app.yaml").read_text())
    assert not errors
    app = template["Resources"]["Application"]["Properties"]["ApplicationConfiguration"]
    interval = app["FlinkApplicationConfiguration"]["CheckpointConfiguration"]["CheckpointInterval"]
    groups = {g["PropertyGroupId"]: g["PropertyMap"] for g in app["EnvironmentProperties"]["PropertyGroups"]}
    assert groups[managed_app.JOB_GROUP]["checkpoint.interval.ms"] == interval == {"Ref": "CheckpointIntervalMs"}
    service_ms = int(template["Parameters"]["CheckpointIntervalMs"]["Default"])
    # the properties imagify deploy gives the service carry it, and the app reads them
    props = application_properties(settings, settings.aws_names(), "v1")
    cfg = managed_app.app_config({g["PropertyGroupId"]: g["PropertyMap"] for g in props})
    assert cfg.checkpoint_ms == service_ms == settings.msf_checkpoint_ms
    for ms in (service_ms, 300_000):
        ddls = managed_app.table_ddls(dataclasses.replace(cfg, checkpoint_ms=ms))
        rolls = [int(v) for ddl in ddls for v in ROLL_INTERVAL.findall(ddl)]
        assert len(rolls) == 2 and min(rolls) >= ms, rolls  # the audit's; Parquet rolls on checkpoints
    # a local run (imagify.local) rolls with its own checkpoints; on the service that group is ignored
    local = dataclasses.replace(cfg, local={"checkpoint.dir": "file:///tmp/c", "checkpoint.interval.ms": "2000"})
    assert managed_app.checkpoint_interval_ms(local, on_service=False) == 2000
    assert managed_app.checkpoint_interval_ms(local, on_service=True) == service_ms
    with pytest.raises(ValueError, match="checkpoint.interval.ms"):
        managed_app.app_config({**{g["PropertyGroupId"]: g["PropertyMap"] for g in props},
                                managed_app.JOB_GROUP: {"dedup.ttl.h": "1", "package.version": "v",
                                                        "checkpoint.interval.ms": "60 s"}})


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
