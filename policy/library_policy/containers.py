"""Container policies: plain validators `(args, report_violation) -> None`.

Each validator ignores resources of other types, so all of them can run on
every resource of a stack.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .props import CONTAINER, UNKNOWN, as_bool, component, get, is_image_id, items, looks_like_postgres


def _container(args: ResourceValidationArgs) -> bool:
    return args.resource_type == CONTAINER


def validate_not_privileged(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """1. No privileged containers (full access to the host's devices and kernel)."""
    if not _container(args):
        return
    privileged = args.props.get("privileged")  # unknown in preview: the SDK skips the check
    if as_bool(privileged) is True:
        report_violation(f"container {args.name!r} sets privileged=true; remove it.", None)


def validate_no_host_network(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """2. No host networking: the container would share the host's network
    stack, bypass the stack network and expose every port it listens on."""
    if not _container(args):
        return
    mode = args.props.get("networkMode")
    if isinstance(mode, str) and mode.strip().lower() == "host":
        report_violation(
            f"container {args.name!r} uses networkMode=host; attach it to the stack network "
            "(networksAdvanced) instead.",
            None,
        )


def _is_database(args: ResourceValidationArgs) -> tuple[bool, str]:
    if component(args.props) == "db":
        return True, "labelled org.library.component=db"
    image = get(args.props, "image")
    if isinstance(image, str) and not is_image_id(image) and looks_like_postgres(image):
        return True, f"image {image!r} looks like PostgreSQL"
    return False, ""


def _port(value: Any) -> Any:
    """8000.0 (numbers arrive as floats) -> 8000."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def validate_no_database_host_port(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """3. The database publishes no host port: it is reachable only on the stack network.

    The database container is the one labelled org.library.component=db, or
    one whose `image` is a reference that looks like PostgreSQL (an image id,
    as this program passes, says nothing about what it is).
    """
    if not _container(args):
        return
    is_db, why = _is_database(args)
    if not is_db:
        return
    ports = args.props.get("ports")
    published = []
    for port in items(ports):
        internal = get(port, "internal")
        external = get(port, "external")
        # Any ports entry publishes on the host (no external = a random host port).
        published.append(f"{_port(internal)}->{'random' if external in (None, UNKNOWN) else _port(external)}")
    if published:
        report_violation(
            f"database container {args.name!r} ({why}) publishes host port(s) {', '.join(published)}; "
            "remove `ports`: the API reaches it over the stack network as `db`.",
            None,
        )
    if as_bool(args.props.get("publishAllPorts")) is True:
        report_violation(
            f"database container {args.name!r} ({why}) sets publishAllPorts=true, which publishes "
            "its exposed port (5432) on the host; remove it.",
            None,
        )


def _api(args: ResourceValidationArgs) -> bool:
    return _container(args) and component(args.props) == "api"


def validate_api_healthcheck(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """4. API containers have a healthcheck (wait=True and rolling replacement
    depend on it; without one a broken replica counts as started)."""
    if not _api(args):
        return
    healthcheck = args.props.get("healthcheck")
    raw_tests = get(healthcheck, "tests")
    if raw_tests is UNKNOWN:
        return  # not known in preview; checked again during `pulumi up`
    tests = [t for t in items(raw_tests) if t is not UNKNOWN]
    if not healthcheck or not tests:
        report_violation(f"API container {args.name!r} has no healthcheck (healthcheck.tests).", None)
    elif str(tests[0]).upper() == "NONE":
        report_violation(f'API container {args.name!r} disables its healthcheck (tests=["NONE"]).', None)


def validate_api_read_only_root(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """5a. API containers run with a read-only root file system (writable
    space only in tmpfs), so a compromised process cannot alter the code."""
    if not _api(args):
        return
    if as_bool(args.props.get("readOnly")) is not True:
        report_violation(f"API container {args.name!r} must set readOnly=true (read-only root file system).", None)


def _cap(name: Any) -> str:
    text = str(name).strip().upper()
    return text[4:] if text.startswith("CAP_") else text


def validate_api_capabilities(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """5b. API containers add no Linux capabilities and drop ALL of them."""
    if not _api(args):
        return
    capabilities = args.props.get("capabilities")
    raw_adds, raw_drops = get(capabilities, "adds"), get(capabilities, "drops")
    if raw_adds is UNKNOWN or raw_drops is UNKNOWN:
        return  # not known in preview; checked again during `pulumi up`
    adds = [_cap(c) for c in items(raw_adds)]
    drops = [_cap(c) for c in items(raw_drops)]
    if adds:
        report_violation(f"API container {args.name!r} adds capabilities {', '.join(adds)}; it needs none.", None)
    if "ALL" not in drops:
        report_violation(f'API container {args.name!r} must drop all capabilities (capabilities.drops=["ALL"]).', None)
