"""The IAM-by-calls tools of tests/support/aws_calls.py: requests become the IAM actions AWS authorises, and the
evaluator allows exactly what a policy allows (used by tests/e2e/test_e2e_aws.py)."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from support.aws_calls import Call, RecordingProxy, allows, calls_of, denied, unused, with_kms
from support.aws_helpers import ACCOUNT, REGION, moto_server

STREAM = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s"
SIG = {"authorization": "AWS4-HMAC-SHA256 Credential=AK/20261204/ap-southeast-1/{}/aws4_request, Signed..."}


def _calls(method: str, url: str, service: str, body: bytes = b"", **headers: str) -> list[Call]:
    return calls_of(method, url, {"authorization": SIG["authorization"].format(service), **headers}, body,
                    REGION, ACCOUNT)


def test_s3_requests_are_named_as_iam_names_them() -> None:
    assert _calls("GET", "/b/lake/a.parquet", "s3") == [Call("s3:GetObject", "arn:aws:s3:::b/lake/a.parquet")]
    assert _calls("HEAD", "/b/lake/a%20b", "s3") == [Call("s3:GetObject", "arn:aws:s3:::b/lake/a b")]
    assert _calls("POST", "/b/k?uploads", "s3") == [Call("s3:PutObject", "arn:aws:s3:::b/k")]
    assert _calls("PUT", "/b/k?partNumber=1&uploadId=u", "s3") == [Call("s3:PutObject", "arn:aws:s3:::b/k")]
    assert _calls("DELETE", "/b/k?uploadId=u", "s3") == [Call("s3:AbortMultipartUpload", "arn:aws:s3:::b/k")]
    assert _calls("GET", "/b/k?uploadId=u", "s3") == [Call("s3:ListMultipartUploadParts", "arn:aws:s3:::b/k")]
    assert _calls("GET", "/b?list-type=2&prefix=lake/events/", "s3") == [
        Call("s3:ListBucket", "arn:aws:s3:::b", (("s3:prefix", "lake/events/"),))]
    # CopyObject writes its key and reads its source
    assert _calls("PUT", "/b/lake/f", "s3", **{"x-amz-copy-source": "b/lake/.f%20x.rewrite"}) == [
        Call("s3:PutObject", "arn:aws:s3:::b/lake/f"), Call("s3:GetObject", "arn:aws:s3:::b/lake/.f x.rewrite")]
    deletes = b"<Delete><Object><Key>x/1</Key></Object><Object><Key>x/2</Key></Object></Delete>"
    assert _calls("POST", "/b?delete", "s3", deletes) == [Call("s3:DeleteObject", "arn:aws:s3:::b/x/1"),
                                                          Call("s3:DeleteObject", "arn:aws:s3:::b/x/2")]


def test_json_and_query_requests() -> None:
    body = json.dumps({"StreamARN": STREAM, "ShardId": "s-0"}).encode()
    assert _calls("POST", "/", "kinesis", body, **{"x-amz-target": "Kinesis_20131202.GetShardIterator"}) == [
        Call("kinesis:GetShardIterator", STREAM)]
    by_name = json.dumps({"StreamName": "s", "Records": []}).encode()
    assert _calls("POST", "/", "kinesis", by_name, **{"x-amz-target": "Kinesis_20131202.PutRecords"}) == [
        Call("kinesis:PutRecords", STREAM)]
    assert _calls("POST", "/", "sts", b"Action=GetCallerIdentity&Version=2011-06-15") == [
        Call("sts:GetCallerIdentity", "*")]
    # CloudWatch signs as "monitoring"; its namespace is the policy's condition key
    assert _calls("POST", "/", "monitoring", b"Action=PutMetricData&Namespace=Imagify%2FProducer") == [
        Call("cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", "Imagify/Producer"),))]


def test_glue_and_athena_calls_name_what_iam_authorises() -> None:
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    get_table = json.dumps({"DatabaseName": "marts", "Name": "revenue"}).encode()
    assert _calls("POST", "/", "glue", get_table, **{"x-amz-target": "AWSGlue.GetTable"}) == [
        Call("glue:GetTable", f"{glue}:catalog"), Call("glue:GetTable", f"{glue}:database/marts"),
        Call("glue:GetTable", f"{glue}:table/marts/revenue")]
    get_db = json.dumps({"Name": "marts"}).encode()
    assert _calls("POST", "/", "glue", get_db, **{"x-amz-target": "AWSGlue.GetDatabase"}) == [
        Call("glue:GetDatabase", f"{glue}:catalog"), Call("glue:GetDatabase", f"{glue}:database/marts")]
    tables = json.dumps({"DatabaseName": "marts"}).encode()
    assert _calls("POST", "/", "glue", tables, **{"x-amz-target": "AWSGlue.GetTables"})[-1] == Call(
        "glue:GetTables", f"{glue}:table/marts/*")
    workgroup = f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/wg"
    start = json.dumps({"QueryString": "SELECT 1", "WorkGroup": "wg"}).encode()
    assert _calls("POST", "/", "athena", start, **{"x-amz-target": "AmazonAthena.StartQueryExecution"}) == [
        Call("athena:StartQueryExecution", workgroup)]
    poll = json.dumps({"QueryExecutionId": "q1"}).encode()
    target = {"x-amz-target": "AmazonAthena.GetQueryExecution"}
    assert calls_of("POST", "/", {"authorization": SIG["authorization"].format("athena"), **target}, poll,
                    REGION, ACCOUNT, {"q1": workgroup}) == [Call("athena:GetQueryExecution", workgroup)]


POLICY = [
    {"Effect": "Allow", "Action": ["kinesis:GetRecords", "kinesis:ListShards"], "Resource": STREAM},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lake",
     "Condition": {"StringLike": {"s3:prefix": ["lake/*", "lake"]}}},
    {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::lake/lake/*"},
    {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": "arn:aws:kms:r:1:key/k"},
]


@pytest.mark.parametrize(("call", "allowed"), [
    (Call("kinesis:GetRecords", STREAM), True),
    (Call("Kinesis:getrecords", STREAM), True),  # IAM action names are case-insensitive
    (Call("kinesis:GetRecords", STREAM + "-other"), False),  # another stream
    (Call("kinesis:PutRecords", STREAM), False),  # an action not granted
    (Call("s3:PutObject", "arn:aws:s3:::lake/lake/events/x"), True),
    (Call("s3:PutObject", "arn:aws:s3:::lake/warehouse/x"), False),  # outside the granted prefix
    (Call("s3:ListBucket", "arn:aws:s3:::lake", (("s3:prefix", "lake/events/"),)), True),
    (Call("s3:ListBucket", "arn:aws:s3:::lake", (("s3:prefix", "warehouse/"),)), False),  # condition fails
    (Call("s3:ListBucket", "arn:aws:s3:::lake"), False),  # no prefix: the condition cannot hold
])
def test_evaluator_allows_exactly_what_the_policy_allows(call: Call, allowed: bool) -> None:
    assert allows(POLICY, call) is allowed


def test_evaluator_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(ValueError, match="Allow/Action/Resource"):
        allows([{"Effect": "Deny", "Action": "*", "Resource": "*"}], Call("s3:GetObject", "x"))
    with pytest.raises(ValueError, match="IpAddress"):
        allows([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}}}], Call("s3:GetObject", "x"))


def test_kms_calls_on_behalf_and_unused_grants() -> None:
    calls = with_kms({Call("s3:PutObject", "arn:aws:s3:::lake/lake/e/1")}, "arn:aws:kms:r:1:key/k")
    assert Call("kms:GenerateDataKey", "arn:aws:kms:r:1:key/k") in calls
    assert not denied(POLICY, calls)
    assert not denied(POLICY, {Call("sts:GetCallerIdentity", "*")}), "STS answers any authenticated caller"
    assert denied(POLICY, {Call("sts:AssumeRole", "*")}) == [Call("sts:AssumeRole", "*")]
    assert unused(POLICY, calls) == {"kinesis:GetRecords", "kinesis:ListShards", "s3:ListBucket"}


def test_proxy_records_real_boto3_calls_and_passes_answers_through() -> None:
    with moto_server() as endpoint:
        proxy = RecordingProxy(endpoint, REGION, ACCOUNT)
        try:
            keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}
            s3 = boto3.client("s3", endpoint_url=proxy.url, **keys)
            s3.create_bucket(Bucket="bkt", CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_object(Bucket="bkt", Key="lake/x", Body=b"12345")
            assert s3.head_object(Bucket="bkt", Key="lake/x")["ContentLength"] == 5  # HEAD keeps its length
            assert s3.get_object(Bucket="bkt", Key="lake/x")["Body"].read() == b"12345"
            kinesis = boto3.client("kinesis", endpoint_url=proxy.url, **keys)
            kinesis.create_stream(StreamName="s", ShardCount=1)
            athena = boto3.client("athena", endpoint_url=proxy.url, **keys)
            athena.create_work_group(Name="wg")
            qid = athena.start_query_execution(QueryString="SELECT 1", WorkGroup="wg")["QueryExecutionId"]
            athena.get_query_execution(QueryExecutionId=qid)  # authorised on the workgroup it ran in
            with pytest.raises(urllib.error.HTTPError):  # an error answer passes through as it is
                urllib.request.urlopen(proxy.url + "/no-such-bucket/k", timeout=10)  # noqa: S310 — loopback
        finally:
            proxy.close()
    assert {Call("s3:PutObject", "arn:aws:s3:::bkt/lake/x"), Call("s3:GetObject", "arn:aws:s3:::bkt/lake/x"),
            Call("kinesis:CreateStream", STREAM),
            Call("athena:GetQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/wg")} <= proxy.calls
