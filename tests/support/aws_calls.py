"""IAM proven by the calls: a recording proxy in front of the AWS emulator notes every call a component
makes (as the IAM action and resource AWS would authorise), and :func:`denied` checks them against the
role the templates give that component.

The evaluator is ours, not moto's: moto's ``IAMPolicy`` checks every non-S3 action against resource
``*`` (so a policy scoped to a stream ARN never matches) and answers DENIED when an Allow statement's
condition does not hold (IAM answers "not allowed by this statement"). Ours covers what the templates
use (Allow statements; Action and Resource with wildcards; StringEquals/StringLike conditions on keys
the call carries) and refuses anything else loudly, so it cannot pass a policy it does not understand.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cfnlint.decode import decode_str

from foundation.config import REPO_ROOT, Settings
from imagify.deploy import platform_parameters

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")
# SigV4 signing names that differ from the service's IAM prefix
_IAM_PREFIX = {"monitoring": "cloudwatch"}
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


@dataclass(frozen=True)
class Call:
    action: str  # as IAM names it: kinesis:GetRecords, s3:PutObject
    resource: str  # the ARN it acts on ("*" when the call names none)
    context: tuple[tuple[str, str], ...] = ()  # condition keys the call carries (s3:prefix)


def _s3_calls(method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> list[Call]:
    bucket, _, key = path.lstrip("/").partition("/")
    key = urllib.parse.unquote(key)
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if not key:
        if method == "POST" and "delete" in query:  # DeleteObjects: s3:DeleteObject on each key
            keys = re.findall(rb"<Key>(.*?)</Key>", body)
            return [Call("s3:DeleteObject", f"{bucket_arn}/{k.decode()}") for k in keys]
        if method == "PUT":
            return [Call("s3:CreateBucket", bucket_arn)]
        if "uploads" in query:
            return [Call("s3:ListBucketMultipartUploads", bucket_arn)]
        if "location" in query:
            return [Call("s3:GetBucketLocation", bucket_arn)]
        if method in ("GET", "HEAD"):
            return [Call("s3:ListBucket", bucket_arn, (("s3:prefix", query.get("prefix", [""])[0]),))]
        return [Call(f"s3:{method}Bucket?", bucket_arn)]
    arn = f"{bucket_arn}/{key}"
    if method in ("GET", "HEAD"):
        return [Call("s3:ListMultipartUploadParts" if "uploadId" in query else "s3:GetObject", arn)]
    if method == "PUT" and (source := headers.get("x-amz-copy-source")):  # CopyObject reads its source too
        source = urllib.parse.unquote(source.split("?versionId=")[0]).lstrip("/")
        return [Call("s3:PutObject", arn), Call("s3:GetObject", f"arn:aws:s3:::{source}")]
    if method in ("PUT", "POST"):  # PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload
        return [Call("s3:PutObject", arn)]
    if method == "DELETE":
        return [Call("s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject", arn)]
    return [Call(f"s3:{method}Object?", arn)]


def _glue_resources(operation: str, payload: dict[str, Any], region: str, account: str) -> list[str]:
    """The ARNs Glue authorises a call on: the catalog, the database and the table it names (all of a
    database's tables for the list calls)."""
    arn = f"arn:aws:glue:{region}:{account}"
    database = payload.get("DatabaseName") or (payload.get("Name") if operation.endswith("Database") else None)
    out = [f"{arn}:catalog"]
    if database:
        out.append(f"{arn}:database/{database}")
        table = payload.get("TableName") or (payload.get("Name") if "DatabaseName" in payload else None)
        if table or operation in ("GetTables", "SearchTables"):
            out.append(f"{arn}:table/{database}/{table or '*'}")
    return out


def _json_calls(service: str, target: str, body: bytes, region: str, account: str,
                queries: dict[str, str] | None = None) -> list[Call]:
    """``queries``: the workgroup ARN of each Athena query id seen started (IAM authorises a call on a
    query against the workgroup it ran in)."""
    operation = target.rsplit(".", 1)[-1]
    payload: dict[str, Any] = json.loads(body or b"{}")
    resource = "*"
    if service == "glue":
        return [Call(f"glue:{operation}", r) for r in _glue_resources(operation, payload, region, account)]
    if service == "athena":
        if payload.get("WorkGroup"):
            resource = athena_workgroup_arn(payload["WorkGroup"], region, account)
        elif payload.get("QueryExecutionId"):
            resource = (queries or {}).get(payload["QueryExecutionId"], "*")
        return [Call(f"athena:{operation}", resource)]
    if service == "cloudwatch":
        return [Call(f"cloudwatch:{operation}", "*", _namespace(payload.get("Namespace")))]
    if service == "dynamodb":
        return _dynamodb_calls(operation, payload, f"arn:aws:dynamodb:{region}:{account}:table/")
    if service == "sqs":
        # a batch call is authorised as its single-message action
        action = operation.removesuffix("Batch") if operation.endswith("MessageBatch") else operation
        name = str(payload.get("QueueUrl") or payload.get("QueueName") or "*").rstrip("/").rsplit("/", 1)[-1]
        return [Call(f"sqs:{action}", f"arn:aws:sqs:{region}:{account}:{name}")]
    if service == "kinesis":
        if payload.get("StreamARN"):
            resource = payload["StreamARN"]
        elif payload.get("StreamName"):
            resource = f"arn:aws:kinesis:{region}:{account}:stream/{payload['StreamName']}"
    return [Call(f"{service}:{operation}", resource)]


# a transaction is authorised as the item actions it holds, on each item's table
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}  # fmt: skip


def _dynamodb_calls(operation: str, payload: dict[str, Any], table_arn: str) -> list[Call]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [Call(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", table_arn + item["TableName"])
                for entry in payload["TransactItems"] for kind, item in entry.items()]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [Call(f"dynamodb:{operation}", table_arn + table) for table in payload["RequestItems"]]
    resource = table_arn + str(payload.get("TableName", "*"))
    if payload.get("IndexName"):
        resource += f"/index/{payload['IndexName']}"
    return [Call(f"dynamodb:{operation}", resource)]


def athena_workgroup_arn(workgroup: str, region: str, account: str) -> str:
    return f"arn:aws:athena:{region}:{account}:workgroup/{workgroup}"


def calls_of(method: str, url: str, headers: dict[str, str], body: bytes, region: str, account: str,
             queries: dict[str, str] | None = None) -> list[Call]:
    """The IAM actions one HTTP request to an AWS endpoint needs (``queries``: see :func:`_json_calls`)."""
    parsed = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    auth = headers.get("authorization", "") or query.get("X-Amz-Credential", [""])[0]
    match = _CREDENTIAL.search(auth) or re.search(r"/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request", auth)
    service = _IAM_PREFIX.get(match.group(1), match.group(1)) if match else "?"
    if service == "s3":
        return _s3_calls(method, parsed.path, query, headers, body)
    if "x-amz-target" in headers:
        return _json_calls(service, headers["x-amz-target"], body, region, account, queries)
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    context = _namespace(form.get("Namespace", [None])[0]) if service == "cloudwatch" else ()
    return [Call(f"{service}:{form.get('Action', ['?'])[0]}", "*", context)]


def _namespace(value: str | None) -> tuple[tuple[str, str], ...]:
    """CloudWatch's condition key of a metrics call."""
    return (("cloudwatch:namespace", value),) if value else ()


class RecordingProxy:
    """A loopback HTTP proxy to ``upstream`` (the emulator) that records the calls passing through it."""

    def __init__(self, upstream: str, region: str, account: str) -> None:
        self.calls: set[Call] = set()
        self.queries: dict[str, str] = {}  # Athena query id -> its workgroup's ARN
        self.unknown: list[str] = []  # requests no IAM action was found for
        self._lock = threading.Lock()
        target = urllib.parse.urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if not size:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self) -> None:
                body = self._body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with proxy._lock:
                    calls = calls_of(self.command, self.path, headers, body, region, account, proxy.queries)
                    proxy.calls.update(calls)
                    if any(c.action.startswith("?") for c in calls):  # for the message of a failed check
                        proxy.unknown.append(f"{self.command} {self.path} {sorted(headers)}")
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                try:
                    out = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    conn.request(self.command, self.path, body=body, headers={**out, "Content-Length": str(len(body))})
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                started = [c for c in calls if c.action == "athena:StartQueryExecution"]
                if started and resp.status == 200:
                    with proxy._lock:
                        proxy.queries[json.loads(data)["QueryExecutionId"]] = started[0].resource
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in _HOP:
                        self.send_header(k, v)
                # HEAD answers the length of the body it does not send
                length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815 — http.server's names

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                import sys

                if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no error
                    super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict, call: Call) -> bool:
    context = dict(call.context)
    for operator, clauses in condition.items():
        if operator not in ("StringEquals", "StringLike"):
            raise ValueError(f"the test's evaluator does not know the condition operator {operator}")
        for key, expected in clauses.items():
            if key not in context:
                return False
            patterns = _as_list(expected)
            if operator == "StringEquals" and context[key] not in patterns:
                return False
            if operator == "StringLike" and not any(fnmatch.fnmatchcase(context[key], p) for p in patterns):
                return False
    return True


def allows(statements: list[dict], call: Call) -> bool:
    """Whether an identity policy of Allow statements allows the call (IAM actions match case-insensitively)."""
    for st in statements:
        if st.get("Effect") != "Allow" or "NotAction" in st or "NotResource" in st:
            raise ValueError(f"the test's evaluator reads Allow/Action/Resource statements only: {st}")
        if not any(fnmatch.fnmatch(call.action.lower(), a.lower()) for a in _as_list(st["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(call.resource, r) for r in _as_list(st["Resource"])):
            continue
        if _condition_holds(st.get("Condition", {}), call):
            return True
    return False


# actions IAM never denies: "No permissions are required to perform this operation" (STS API reference)
NO_PERMISSION_NEEDED = frozenset({"sts:getcalleridentity"})


def denied(statements: list[dict], calls: set[Call]) -> list[Call]:
    refused = (c for c in calls if c.action.lower() not in NO_PERMISSION_NEEDED and not allows(statements, c))
    return sorted(refused, key=lambda c: (c.action, c.resource))


def unused(statements: list[dict], calls: set[Call]) -> set[str]:
    """Actions the policy grants that none of the calls used."""
    granted = {a for st in statements for a in _as_list(st["Action"])}
    return {a for a in granted if not any(fnmatch.fnmatch(c.action.lower(), a.lower()) for c in calls)}


# what AWS services do on the caller's behalf with the project key (every bucket and the stream are
# SSE-KMS under it): the caller's role needs these too, though no request names them
_KMS_ON_BEHALF = {"s3:PutObject": "kms:GenerateDataKey", "s3:GetObject": "kms:Decrypt",
                  "kinesis:PutRecord": "kms:GenerateDataKey", "kinesis:PutRecords": "kms:GenerateDataKey",
                  "kinesis:GetRecords": "kms:Decrypt",
                  "sqs:SendMessage": "kms:GenerateDataKey", "sqs:ReceiveMessage": "kms:Decrypt"}


def with_kms(calls: set[Call], key_arn: str) -> set[Call]:
    return calls | {Call(_KMS_ON_BEHALF[c.action], key_arn) for c in calls if c.action in _KMS_ON_BEHALF}


def resolve(node: Any, refs: dict[str, str], attributes: dict[str, str], placeholders: bool = False) -> Any:
    """CloudFormation's Ref, Fn::Sub and Fn::GetAtt over a template node, from known values; with
    ``placeholders`` an unknown name becomes ``<name>`` instead of an error. ``${!x}`` is a literal ``${x}``."""
    def value(table: dict[str, str], name: str) -> str:
        return str(table.get(name, f"<{name}>")) if placeholders else str(table[name])

    if isinstance(node, dict) and len(node) == 1:
        (k, v), = node.items()
        if k == "Ref":
            return value(refs, v)
        if k == "Fn::GetAtt":
            return value(attributes, ".".join(v) if isinstance(v, list) else v)
        if k == "Fn::Sub":
            def sub(m: re.Match) -> str:
                name = m.group(1)
                return "${" + name[1:] + "}" if name.startswith("!") else value({**refs, **attributes}, name)
            return re.sub(r"\$\{([^}]+)\}", sub, v)
    if isinstance(node, dict):
        return {k: resolve(v, refs, attributes, placeholders) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, refs, attributes, placeholders) for v in node]
    return node


def role_statements(template: dict, role: str, refs: dict[str, str], attributes: dict[str, str]) -> list[dict]:
    """The identity-policy statements of one role of a template, resolved."""
    policies = template["Resources"][role]["Properties"].get("Policies", [])
    return [resolve(st, refs, attributes) for p in policies for st in p["PolicyDocument"]["Statement"]]


def platform_role(settings: Settings, role: str, key_arn: str, region: str, account: str) -> list[dict]:
    """The statements of a role of infra/platform.yaml as ``imagify deploy`` creates it for ``settings``."""
    names = settings.aws_names(account)
    template, errors = decode_str((REPO_ROOT / "infra" / "platform.yaml").read_text())
    assert not errors, errors
    refs = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    refs |= platform_parameters(settings, names)
    refs |= {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"}
    # what a Ref of the stack's resources the roles name answers (a workgroup its name, a topic its ARN)
    refs |= {"WorkGroup": names.athena_workgroup,
             "AlarmTopic": f"arn:aws:sns:{region}:{account}:{refs['Prefix']}-alarms"}
    attributes = {"LakeBucket.Arn": f"arn:aws:s3:::{names.lake_bucket}",
                  "ArtifactsBucket.Arn": f"arn:aws:s3:::{names.artifacts_bucket}",
                  "AthenaResultsBucket.Arn": f"arn:aws:s3:::{names.athena_results_bucket}",
                  "EventStream.Arn": names.stream_arn, "DataKey.Arn": key_arn}
    return role_statements(template, role, refs, attributes)
