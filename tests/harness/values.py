"""Values as the harness sees them: wrapped secrets, Go durations, integers,
input-key allow-lists, labels and auto-names (see docs/testing.md, the live tier)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc


class RealizeError(Exception):
    """A resource could not be realized; the message says which and why."""


#: The SDK's marker of a secret value on the wire (pulumi.runtime.rpc._special_secret_sig).
_SECRET_SIG_KEY = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SECRET_SIG_KEY) == _SECRET_SIG


def contains_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_secret(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """The value with every wrapped secret unwrapped (recursively)."""
    if is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def secret(value: Any) -> dict:
    return {_SECRET_SIG_KEY: _SECRET_SIG, "value": value}


#: How the unit tier records a value unknown during a preview (pulumi.output.Unknown on the wire).
UNKNOWN_RECORD = {"__unknown__": True}


def recorded(value: Any) -> Any:
    """A JSON-able copy of deserialized properties for the unit tier's record:
    secrets made visible as {"__secret__": value}, a preview's unknowns as UNKNOWN_RECORD,
    anything else odd as its repr."""
    if isinstance(value, Unknown):
        return dict(UNKNOWN_RECORD)
    if is_secret(value):
        return {"__secret__": recorded(value["value"])}
    if isinstance(value, dict):
        return {str(k): recorded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [recorded(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def integral(value: Any) -> Any:
    """Numbers travel as floats over the wire; show 2.0 as 2, as the CLI does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}


def duration_ns(text: str | None, what: str = "duration") -> int:
    """A Go duration ("5s", "1m30s", "500ms", "0s") in nanoseconds (Go's time.ParseDuration)."""
    if text in (None, ""):
        return 0
    text = str(text).strip()
    if text == "0":
        return 0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise RealizeError(f"{what}: {text!r} is not a duration like '5s', '1m30s' or '500ms'")
    return int(total)


def as_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise RealizeError(f"{what}: expected an integer, got {value!r}")
    return int(value)


def check_keys(kind: str, name: str, given: dict, handled: set[str], where: str = "") -> None:
    """Fail loudly on an input the harness does not know: the program cannot silently outgrow it."""
    unknown = sorted(k for k, v in given.items() if k not in handled and v is not None)
    if unknown:
        place = f" in {where}" if where else ""
        raise RealizeError(
            f"{kind} {name!r}: the live harness does not handle input(s) {unknown}{place}. "
            f"Handled: {sorted(handled)}. Teach tests/harness/resources/ what they mean "
            f"(as pulumi-docker/terraform-provider-docker would) before using them."
        )


def label_map(items: Any, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        check_keys("label", what, item, {"label", "value"})
        out[str(item["label"])] = str(item.get("value", ""))
    return out


def autoname(name: str) -> str:
    """Pulumi's auto-name: the logical name, a dash and 7 random characters
    (pulumi-terraform-bridge pkg/tfbridge/names.go: AutoName)."""
    alphabet = string.ascii_lowercase + string.digits
    return f"{name}-{''.join(secrets.choice(alphabet) for _ in range(7))}"


def inputs_fingerprint(inputs: dict) -> str:
    """A digest of a resource's (plain) inputs: what the run state keeps to
    tell an unchanged resource from a changed one, without keeping secrets."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def alias_of(alias: Any) -> dict[str, Any]:
    """An alias of a RegisterResourceRequest (alias_pb2.Alias) as the engine reads it
    (pulumi pkg/resource/deploy/source_eval.go: RegisterResource): {"urn"}, or a spec whose
    parent is a URN ("": the resource's own) or `noParent`."""
    if alias.WhichOneof("alias") == "urn":
        return {"urn": alias.urn}
    spec = alias.spec
    parent = spec.WhichOneof("parent")
    return {
        "name": spec.name,
        "type": spec.type,
        "stack": spec.stack,
        "project": spec.project,
        "parentUrn": spec.parentUrn if parent == "parentUrn" else "",
        "noParent": bool(spec.noParent) if parent == "noParent" else False,
    }
