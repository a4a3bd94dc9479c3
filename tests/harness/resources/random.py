"""random:index/* resources: really random values (``secrets``), remembered per run id and
URN as Pulumi's state keeps them.

Follows terraform-provider-random internal/provider/resource_password.go and
resource_string.go (character classes, minimums, overrideSpecial; internal/random/random.go:
CreateString), resource_id.go, resource_integer.go and resource_uuid.go."""

from __future__ import annotations

import base64
import secrets
import string
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..engine import ResourceType
from ..values import RealizeError, as_int, check_keys, plain

if TYPE_CHECKING:
    from ..realizer import Realizer

Generator = Callable[[str, dict], tuple[str, dict]]

RANDOM_PASSWORD_KEYS = {
    "length",
    "special",
    "upper",
    "lower",
    "numeric",
    "number",
    "minUpper",
    "minLower",
    "minNumeric",
    "minSpecial",
    "overrideSpecial",
    "keepers",
}
#: terraform-provider-random's default special characters.
DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def type_of(generate: Generator) -> ResourceType:
    """terraform-provider-random: every input (keepers, length...) RequiresReplace, so a change
    makes a new value (create before delete); Delete does nothing. Unchanged inputs keep the value
    the state holds: a second deployment of the same run gets the same password (the database in
    a kept volume knows only that one)."""

    def create(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
        return generate(name, inputs)

    return ResourceType(create=create)


def _chars(name: str, i: dict, kind: str) -> str:
    check_keys(kind, name, i, RANDOM_PASSWORD_KEYS)
    length = as_int(i.get("length"), f"{kind} {name!r} length")
    numeric = i.get("numeric", i.get("number", True))
    classes = []
    for enabled, chars, minimum in (
        (i.get("upper", True), string.ascii_uppercase, i.get("minUpper", 0)),
        (i.get("lower", True), string.ascii_lowercase, i.get("minLower", 0)),
        (numeric, string.digits, i.get("minNumeric", 0)),
        (i.get("special", True), i.get("overrideSpecial") or DEFAULT_SPECIAL, i.get("minSpecial", 0)),
    ):
        if enabled:
            classes.append((chars, as_int(minimum or 0, f"{kind} {name!r} min")))
    if not classes:
        raise RealizeError(f"{kind} {name!r}: every character class is disabled")
    if sum(m for _, m in classes) > length:
        raise RealizeError(f"{kind} {name!r}: length is less than the sum of the minimums")
    rng = secrets.SystemRandom()
    out = [rng.choice(c) for c, m in classes for _ in range(m)]
    pool = "".join(c for c, _ in classes)
    out += [rng.choice(pool) for _ in range(length - len(out))]
    rng.shuffle(out)
    return "".join(out)


def password(name: str, inputs: dict) -> tuple[str, dict]:
    result = _chars(name, plain(inputs), "RandomPassword")
    # bcryptHash is not computed (no bcrypt here); reading it yields None.
    return "none", {**inputs, "result": result}


def string_(name: str, inputs: dict) -> tuple[str, dict]:
    result = _chars(name, plain(inputs), "RandomString")
    return result, {**inputs, "result": result}


def id_(name: str, inputs: dict) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("RandomId", name, i, {"byteLength", "prefix", "keepers"})
    raw = secrets.token_bytes(as_int(i.get("byteLength"), f"RandomId {name!r} byteLength"))
    prefix = i.get("prefix") or ""
    b64url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return b64url, {
        **inputs,
        "hex": prefix + raw.hex(),
        "b64Url": prefix + b64url,
        "b64Std": prefix + base64.b64encode(raw).decode(),
        "dec": prefix + str(int.from_bytes(raw, "big")),
    }


def integer(name: str, inputs: dict) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("RandomInteger", name, i, {"min", "max", "seed", "keepers"})
    if i.get("seed"):
        raise RealizeError(f"RandomInteger {name!r}: seed is not handled")
    lo, hi = as_int(i["min"], "min"), as_int(i["max"], "max")
    value = lo + secrets.randbelow(hi - lo + 1)
    return str(value), {**inputs, "result": value}


def uuid_(name: str, inputs: dict) -> tuple[str, dict]:
    check_keys("RandomUuid", name, plain(inputs), {"keepers"})
    value = str(uuid.uuid4())
    return value, {**inputs, "result": value}
