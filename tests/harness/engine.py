"""The engine's rules, as `pulumi up` and `pulumi destroy` apply them to each resource
(see docs/testing.md, the live tier, "The rules"). The resource types
(tests/harness/resources/) say what a provider does (create, diff, update, delete); this
module decides which of those the engine asks for, and keeps the run's state
(tests/harness/state.py) as the engine keeps its snapshot.

Follows pulumi pkg/resource/deploy/step_generator.go (generateSteps, getOldResource and the alias
rules, diff, applyReplaceOnChanges, processIgnoreChanges), step.go (CreateStep/UpdateStep/DeleteStep.Apply),
retries.go (withRetries), deployment.go (RunErrorHooks), deployment_executor.go (the delete phase)
and pkg/engine/destroy.go."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from .state import Entry
from .values import RealizeError, plain

if TYPE_CHECKING:
    from .realizer import Realizer

log = logging.getLogger("live.engine")

#: pulumi pkg/resource/deploy/retries.go: maxErrorHookRetries.
MAX_ERROR_HOOK_RETRIES = 100
#: pulumi pkg/engine/destroy.go: newDestroySource.
RUN_PROGRAM_NEEDED = "You must run with the `--run-program` flag to use delete hooks during destroy."


@dataclasses.dataclass
class Diff:
    """A provider's answer to Diff: the changed input keys, those of them that force a
    replacement, and whether the provider asks for delete-before-replace."""

    changed: list[str]
    replaces: list[str] = dataclasses.field(default_factory=list)
    delete_before_replace: bool = False


class PartialCreate(RealizeError):
    """The provider made the resource (it has an id) but its create failed afterwards:
    the engine keeps it in the state with an init error (pulumi step.go: CreateStep.Apply,
    resource.StatusPartialFailure, InitErrors)."""

    def __init__(self, message: str, resource_id: str, outputs: dict):
        super().__init__(message)
        self.resource_id = resource_id
        self.outputs = outputs


Create = Callable[["Realizer", str, dict, str], tuple[str, dict]]
DiffFn = Callable[["Realizer", str, Entry, dict], Diff]
Update = Callable[["Realizer", str, Entry, dict, str], dict]
Delete = Callable[["Realizer", Entry], None]
Check = Callable[["Realizer", str, "Entry | None", dict], dict]


def input_diff(old: Entry, news: dict) -> list[str]:
    """The engine's own diff of old and new inputs (step_generator.go: diff, DiffUnknown):
    the top-level keys whose (secret-unwrapped) values differ; null and absent are equal."""
    olds, new = plain(old.get("inputs") or {}), plain(news)
    return sorted(k for k in set(olds) | set(new) if olds.get(k) != new.get(k))


def replace_on_any_change(r: Realizer, name: str, old: Entry, news: dict) -> Diff:
    """Every input forces a new resource (ForceNew / RequiresReplace on all of them)."""
    changed = input_diff(old, news)
    return Diff(changed, list(changed))


def nothing_to_delete(r: Realizer, entry: Entry) -> None:
    """The provider's Delete does nothing (the object is not the provider's to remove)."""


@dataclasses.dataclass
class ResourceType:
    create: Create
    diff: DiffFn = replace_on_any_change
    update: Update | None = None
    delete: Delete = nothing_to_delete
    check: Check | None = None


# --- up: one registration ----------------------------------------------------------


def new_entry(typ: str, name: str, options: dict[str, Any], custom: bool = True) -> Entry:
    """The state of a registration before the provider is called: its options as the engine keeps them."""
    return {
        "type": typ,
        "name": name,
        "custom": custom,
        "id": "",
        "inputs": {},
        "outputs": {},
        "initErrors": [],
        "protect": bool(options.get("protect")),
        "retainOnDelete": bool(options.get("retainOnDelete")),
        "deleteBeforeReplace": options.get("deleteBeforeReplace")
        if options.get("deleteBeforeReplaceDefined")
        else None,
        "ignoreChanges": list(options.get("ignoreChanges") or []),
        "replaceOnChanges": list(options.get("replaceOnChanges") or []),
        "hooks": dict(options.get("hooks") or {}),
        "dependencies": list(options.get("dependencies") or []),
        "propertyDependencies": dict(options.get("propertyDependencies") or {}),
        "parent": options.get("parent") or "",
        "provider": options.get("provider") or "",
        "deletedWith": options.get("deletedWith") or "",
    }


def process_ignore_changes(old_inputs: dict, news: dict, ignore_changes: list[str]) -> dict:
    """step_generator.go: processIgnoreChanges: each ignored property takes its old value
    (top-level keys; `*` ignores every input). A nested path is refused, loudly."""
    result = dict(news)
    for path in ignore_changes:
        if path == "*":
            return dict(old_inputs)
        if any(c in path for c in ".[]"):
            raise RealizeError(f"ignore_changes {path!r}: only top-level properties are handled by this harness")
        if path in old_inputs:
            result[path] = old_inputs[path]
        else:
            result.pop(path, None)
    return result


def apply_replace_on_changes(diff: Diff, replace_on_changes: list[str], has_init_errors: bool) -> list[str]:
    """step_generator.go: applyReplaceOnChanges: a changed key a replaceOnChanges path covers
    (the key itself, or `*`) is a replacement, and so are init errors when `*` is listed."""
    replaces = set(diff.replaces)
    for key in diff.changed:
        if key in replace_on_changes or "*" in replace_on_changes:
            replaces.add(key)
    if has_init_errors and ("*" in replace_on_changes or "#initErrors" in replace_on_changes):
        replaces.add("#initErrors")
    return sorted(replaces)


# --- aliases ----------------------------------------------------------------------

#: sdk/go/common/tokens: RootStackType.
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def _urn_part(urn: str, index: int) -> str:
    """sdk/go/common/resource/urn/urn.go: the parts after `urn:pulumi:` are stack, project,
    qualified type and name (the name may itself contain `::`)."""
    return urn.removeprefix("urn:pulumi:").split("::", 3)[index]


def urn_type(urn: str) -> str:
    """urn.go: URN.Type: the last type of the qualified type (after its last `$`)."""
    return _urn_part(urn, 2).rsplit("$", 1)[-1]


def new_urn(stack: str, project: str, parent_type: str, typ: str, name: str) -> str:
    """urn.go: New: the parent's qualified type `$` the type, unless the parent is the root stack."""
    qualified = f"{parent_type}${typ}" if parent_type and parent_type != ROOT_STACK_TYPE else typ
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def generate_urn(stack: str, project: str, parent: str, typ: str, name: str) -> str:
    """deployment.go: generateURN: a resource's URN (the root stack is no parent type)."""
    return new_urn(stack, project, _urn_part(parent, 2) if parent else "", typ, name)


def create_urn(name: str, typ: str, parent: str, project: str, stack: str) -> str:
    """sdk/go/common/resource/alias.go: CreateURN: under a parent, the parent's URN up to its name."""
    if not parent:
        return f"urn:pulumi:{stack}::{project}::{typ}::{name}"
    return f"{parent[: parent.rindex('::')]}${typ}::{name}"


def collapse_alias(r: Realizer, urn: str, name: str, typ: str, parent: str, alias: dict[str, Any]) -> str:
    """step_generator.go: collapseAliasToUrn: an alias spec's unset parts are the resource's own;
    an explicit parent that was itself aliased stands for its old URN; no parent, or the root
    stack, means none; project and stack default to the deployment's (those of `urn`)."""
    if alias.get("urn"):
        return str(alias["urn"])
    alias_parent = alias.get("parentUrn") or ""
    if not alias_parent:
        alias_parent = parent
    else:
        with r.lock:
            alias_parent = r.aliases.get(alias_parent, alias_parent)
    if alias.get("noParent") or (alias_parent and _urn_part(alias_parent, 2) == ROOT_STACK_TYPE):
        alias_parent = ""
    return create_urn(
        alias.get("name") or name,
        alias.get("type") or typ,
        alias_parent,
        alias.get("project") or _urn_part(urn, 1),
        alias.get("stack") or _urn_part(urn, 0),
    )


def inherited_child_alias(urn: str, child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    """step_generator.go: inheritedChildAlias: a child of an aliased parent is also known under
    that parent's old URN, its name's parent-name prefix replaced by the parent's old name."""
    alias_name = child_name
    if child_name.startswith(parent_name):
        alias_name = _urn_part(parent_alias, 3) + child_name[len(parent_name) :]
    return new_urn(_urn_part(urn, 0), _urn_part(urn, 1), _urn_part(parent_alias, 2), child_type, alias_name)


def generate_aliases(r: Realizer, urn: str, name: str, typ: str, parent: str, aliases: list[dict]) -> list[str]:
    """step_generator.go: generateAliases: the resource's aliases as URNs (in order, each once),
    then those it inherits from a parent that was found under an alias."""
    result: list[str] = []

    def add(alias_urn: str) -> None:
        if alias_urn not in result:
            result.append(alias_urn)

    for alias in aliases:
        add(collapse_alias(r, urn, name, typ, parent, alias))
    with r.lock:
        parent_alias = r.aliases.get(parent) if parent else None
    if parent_alias:
        parent_name = _urn_part(parent, 3)
        add(inherited_child_alias(urn, typ, name, parent_name, parent_alias))
        for alias in aliases:
            child = collapse_alias(r, urn, name, typ, parent, alias)
            add(inherited_child_alias(urn, urn_type(child), _urn_part(child, 3), parent_name, parent_alias))
    return result


def find_old(r: Realizer, urn: str, name: str, typ: str, options: dict[str, Any]) -> str | None:
    """step_generator.go: getOldResource: the URN under which the resource's old state is, its own
    first, then its aliases among the resources the deployment started with (the engine's olds); one
    found under an alias is that resource (diffed as usual), so its state moves to the new URN
    and the old URN is not deleted. Claims that clash fail the registration as the engine's
    diagnostics do (sdk/go/common/diag/errors.go, 2008 and 2016: "resource ... is invalid")."""
    parent = options.get("parent") or ""
    candidates = generate_aliases(r, urn, name, typ, parent, list(options.get("aliases") or []))
    errors: list[str] = []
    found: str | None = None
    with r.lock:
        if urn in r.aliased:
            errors.append(
                f"Duplicate resource URN '{urn}' conflicting with alias on resource with URN '{r.aliased[urn]}'"
            )
        if urn in r.old_urns or r.state.get(urn) is not None:
            found = urn
        else:
            for alias in candidates:
                if alias not in r.old_urns:
                    continue
                if alias in r.registered_urns:
                    errors.append(_duplicate_alias(alias, urn, urn))
                if alias in r.aliased:
                    errors.append(_duplicate_alias(alias, urn, r.aliased[alias]))
                r.aliased[alias] = urn
                r.aliases[urn] = alias
                log.info("%s: found in the state under its alias %s", urn, alias)
                found = alias
                break
    if errors:
        raise RealizeError("\n".join([*errors, f"resource {urn} is invalid"]))
    return found


def _duplicate_alias(alias: str, urn: str, other: str) -> str:
    return (
        f"Duplicate resource alias '{alias}' applied to resource with URN '{urn}' "
        f"conflicting with resource with URN '{other}'"
    )


# --- up: one registration ----------------------------------------------------------


def register_component(r: Realizer, typ: str, name: str, inputs: dict, urn: str, options: dict[str, Any]) -> None:
    """A component resource: nothing is made; the state keeps it (for the order of deletes),
    moved from an alias URN like any resource (find_old)."""
    old_urn = find_old(r, urn, name, typ, options)
    entry = new_entry(typ, name, options, custom=False)
    r.state.put(urn, {**entry, "inputs": plain(inputs)}, moved_from=_moved(urn, old_urn))


def _moved(urn: str, old_urn: str | None) -> str | None:
    """The alias URN a resource's state moves from when its step completes (none when it is its own)."""
    return old_urn if old_urn and old_urn != urn else None


def register(
    r: Realizer, rtype: ResourceType, typ: str, name: str, inputs: dict, urn: str, options: dict[str, Any]
) -> tuple[str, dict]:
    """One registration of `pulumi up`: create, same, update or replace (step_generator.go:
    generateSteps); the state is written as each step completes, under the new URN also when
    the old state was found under an alias (find_old)."""
    entry = new_entry(typ, name, options)
    old_urn = find_old(r, urn, name, typ, options)
    moved = _moved(urn, old_urn)
    old = r.state.get(old_urn) if old_urn else None
    if old is None:
        if rtype.check is not None:
            inputs = rtype.check(r, name, None, inputs)
        return _create(r, rtype, entry, inputs, urn, replacing=None)

    unchecked = process_ignore_changes(old.get("inputs") or {}, inputs, entry["ignoreChanges"])
    news = unchecked if rtype.check is None else rtype.check(r, name, old, unchecked)
    diff = rtype.diff(r, name, old, news)
    init_errors = old.get("initErrors") or []
    replaces = apply_replace_on_changes(diff, entry["replaceOnChanges"], bool(init_errors))
    what = f"{typ.split(':')[-1]} {name!r}"

    if replaces:
        if entry["protect"] and old.get("protect"):
            # step_generator.go: generateStepsFromDiff, "unable to replace resource ... protection".
            raise RealizeError(
                f"unable to replace resource {urn!r}\nas it is currently marked for protection. To unprotect "
                f"the resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`"
            )
        if rtype.check is not None:
            # "we need to recompute the default values" (Check again, without the olds).
            news = rtype.check(r, name, None, unchecked)
        # The registration's deleteBeforeReplace when the program defined it, else the provider's.
        dbr = entry["deleteBeforeReplace"]
        if dbr is None:
            dbr = diff.delete_before_replace
        log.info(
            "%s: replacing (%s changed; %s)",
            what,
            ", ".join(replaces),
            "delete before create" if dbr else "create before delete",
        )
        if dbr:
            # Dependents that the replacement would replace too go first, in reverse order.
            for dependent in reversed(dependent_replacements(r, str(old_urn))):
                log.info("%s: deleting %s first (it depends on it and would be replaced)", what, dependent["urn"])
                delete(r, dependent, replacing=True, pending=False)
            delete(r, {**old, "urn": old_urn}, replacing=True, pending=False)
            return _create(r, rtype, entry, news, urn, replacing=None)
        return _create(r, rtype, entry, news, urn, replacing=old, moved_from=moved)

    if diff.changed or init_errors:
        log.info("%s: updating (%s)", what, ", ".join(diff.changed) or "init errors of an earlier deployment")
        return _update(r, rtype, entry, old, news, urn, moved_from=moved)

    # A same step: the old outputs, the new options.
    r.state.put(urn, {**entry, "id": old["id"], "inputs": news, "outputs": old["outputs"]}, moved_from=moved)
    return old["id"], old["outputs"]


#: What a property that depends on a resource being replaced becomes for the dependents' diff.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the SDK's unknown-value sentinel (pulumi.runtime.rpc.UNKNOWN)


def dependent_replacements(r: Realizer, root: str) -> list[Entry]:
    """step_generator.go: calculateDependentReplacements: before a resource is deleted to be
    replaced (delete-before-replace), every resource of the state that depends on it (transitively)
    through a property is diffed by its provider with those properties unknown; those the diff
    would replace are deleted first. Dependencies without a property (depends_on) do not count.
    The dependents in dependency order."""
    resources = r.state.resources()
    replace_set = {root}
    found: list[Entry] = []
    for urn, entry in resources.items():  # the state lists resources in dependency order
        if urn == root or not entry.get("custom", True):
            continue
        unknown = {key for key, urns in (entry.get("propertyDependencies") or {}).items() if set(urns) & replace_set}
        if not unknown:
            continue
        inputs = {k: (UNKNOWN if k in unknown else v) for k, v in (entry.get("inputs") or {}).items()}
        diff = r.resource_type(entry["type"]).diff(r, entry["name"], entry, inputs)
        if apply_replace_on_changes(diff, entry.get("replaceOnChanges") or [], False):
            replace_set.add(urn)
            found.append({**entry, "urn": urn})
    return found


def _create(
    r: Realizer,
    rtype: ResourceType,
    entry: Entry,
    inputs: dict,
    urn: str,
    replacing: Entry | None,
    moved_from: str | None = None,
) -> tuple[str, dict]:
    """step.go: CreateStep.Apply: the provider's Create, retried while an on_error hook asks for it;
    a partial failure is kept with its init errors; a create-before-delete replacement marks the
    old resource as a pending delete (also on a partial failure), the old one found under an
    alias (`moved_from`) in the same write."""
    failures: list[str] = []
    while True:
        partial: PartialCreate | None = None
        try:
            rid, outputs = rtype.create(r, entry["name"], inputs, urn)
            r.state.put(
                urn,
                {**entry, "id": rid, "inputs": inputs, "outputs": outputs},
                pending_delete=replacing,
                moved_from=moved_from,
            )
            _run_after_create_hooks(r, {**entry, "urn": urn, "id": rid, "inputs": inputs, "outputs": outputs})
            return rid, outputs
        except PartialCreate as e:
            error: Exception = e
            partial = e
        except Exception as e:  # noqa: BLE001 - the provider's error, reported as the engine does below
            error = e
        failures.insert(0, str(error))
        if len(failures) >= MAX_ERROR_HOOK_RETRIES:
            raise RealizeError(f"maximum number of error hook retries ({MAX_ERROR_HOOK_RETRIES}) reached") from error
        # CreateStep passes s.new.ID, not yet set when the hooks run: "".
        retry = run_error_hooks(r, entry, urn, "", "create", failures, new_inputs=inputs)
        if not retry:
            break
        log.warning(
            "%s: retrying create due to on-error hook request (%d/%d)", urn, len(failures), MAX_ERROR_HOOK_RETRIES
        )
    if partial is not None:
        r.state.put(
            urn,
            {
                **entry,
                "id": partial.resource_id,
                "inputs": inputs,
                "outputs": partial.outputs,
                "initErrors": [str(partial)],
            },
            pending_delete=replacing,
            moved_from=moved_from,
        )
    raise error


def _update(
    r: Realizer, rtype: ResourceType, entry: Entry, old: Entry, news: dict, urn: str, moved_from: str | None = None
) -> tuple[str, dict]:
    """step.go: UpdateStep.Apply, retried while an on_error hook asks for it."""
    if rtype.update is None:
        raise RealizeError(f"{urn}: the provider has no update for a change of {sorted(news)}")
    failures: list[str] = []
    while True:
        try:
            outputs = rtype.update(r, entry["name"], old, news, urn)
            break
        except Exception as e:  # noqa: BLE001 - reported as the engine does below
            failures.insert(0, str(e))
            if len(failures) >= MAX_ERROR_HOOK_RETRIES:
                raise RealizeError(f"maximum number of error hook retries ({MAX_ERROR_HOOK_RETRIES}) reached") from e
            retry = run_error_hooks(
                r,
                entry,
                urn,
                old["id"],
                "update",
                failures,
                new_inputs=news,
                old_inputs=old.get("inputs"),
                old_outputs=old.get("outputs"),
            )
            if not retry:
                raise
    r.state.put(urn, {**entry, "id": old["id"], "inputs": news, "outputs": outputs}, moved_from=moved_from)
    return old["id"], outputs


# --- hooks -----------------------------------------------------------------------------


def _call_hook(r: Realizer, callback: Callable[[Any], Any], args: Any) -> Any:
    """A hook runs in (a copy of) the program's context, so it sees the program's configuration."""
    context = (r.program_context or contextvars.copy_context()).copy()
    result = context.run(callback, args)
    if inspect.isawaitable(result):
        result = context.run(asyncio.run, cast(Coroutine[Any, Any, Any], result))
    return result


def run_error_hooks(
    r: Realizer,
    entry: Entry,
    urn: str,
    resource_id: str,
    operation: str,
    failures: list[str],
    new_inputs: dict | None = None,
    old_inputs: dict | None = None,
    old_outputs: dict | None = None,
) -> bool:
    """deployment.go: RunErrorHooks: every on_error hook of the resource, by name; retry when any
    returns True; a hook that raises (or is not registered) fails the step."""
    from pulumi.resource_hooks import ErrorHookArgs

    retry = False
    for name in entry["hooks"].get("onError", []):
        hook = r.error_hooks.get(name)
        if hook is None:
            raise RealizeError(f"error hook {name!r} was not registered")
        args = ErrorHookArgs(
            urn=urn,
            id=resource_id,
            name=entry["name"],
            type=entry["type"],
            new_inputs=plain(new_inputs) if new_inputs is not None else None,
            old_inputs=plain(old_inputs) if old_inputs is not None else None,
            old_outputs=plain(old_outputs) if old_outputs is not None else None,
            failed_operation=operation,
            errors=list(failures),
        )
        try:
            answer = _call_hook(r, hook.callback, args)
        except Exception as e:
            raise RealizeError(f"error hook {name!r} failed: {type(e).__name__}: {e}") from e
        with r.lock:
            r.hook_runs.append({"hook": name, "kind": "on_error", "urn": urn, "operation": operation})
        retry = retry or bool(answer)
    return retry


def _run_after_create_hooks(r: Realizer, entry: Entry) -> None:
    """step.go: CreateStep.Apply runs the after_create hooks of a custom resource once its create
    succeeded (not after a partial failure); a failing one is reported and fails the deployment,
    but the created resource stays in the state (Deployment.RecordPostStepError)."""
    from pulumi.resource_hooks import ResourceHookArgs

    for name in entry.get("hooks", {}).get("afterCreate", []):
        hook = r.hooks.get(name)
        if hook is None:
            raise RealizeError(f"hook {name!r} was not registered")
        args = ResourceHookArgs(
            urn=entry["urn"],
            id=entry["id"],
            name=entry["name"],
            type=entry["type"],
            new_inputs=plain(entry.get("inputs") or {}),
            new_outputs=plain(entry.get("outputs") or {}),
        )
        started = time.monotonic()
        try:
            _call_hook(r, hook.callback, args)
        except Exception as e:  # noqa: BLE001 - recorded: the deployment fails once its steps are done
            with r.lock:
                r.post_step_errors.append(f"after hook {name!r} failed: {type(e).__name__}: {e}")
        with r.lock:
            r.hook_runs.append(
                {
                    "hook": name,
                    "kind": "afterCreate",
                    "urn": entry["urn"],
                    "container": str((entry.get("outputs") or {}).get("name") or entry["name"]),
                    "seconds": round(time.monotonic() - started, 2),
                }
            )


def _run_delete_hooks(r: Realizer, entry: Entry, kind: str) -> None:
    """step.go: DeleteStep.Apply runs the before_delete hooks (a failing one fails the step) and,
    after the delete, the after_delete hooks, each by the name the resource registered it with."""
    from pulumi.resource_hooks import ResourceHookArgs

    label = entry.get("outputs", {}).get("name") if entry["type"].startswith("docker:") else None
    for name in entry.get("hooks", {}).get(kind, []):
        hook = r.hooks.get(name)
        if hook is None:
            raise RealizeError(
                f"{entry['type'].split(':')[-1]} {entry['name']!r}: its {kind} hook {name!r} is not registered "
                f"by the program (the engine would fail the delete)"
            )
        started = time.monotonic()
        args = ResourceHookArgs(
            urn=entry["urn"],
            id=entry["id"],
            name=entry["name"],
            type=entry["type"],
            old_inputs=plain(entry.get("inputs") or {}),
            old_outputs=plain(entry.get("outputs") or {}),
        )
        try:
            _call_hook(r, hook.callback, args)
        except Exception as e:
            hook_kind = "before_delete" if kind == "beforeDelete" else "after_delete"
            raise RealizeError(
                f"{entry['type'].split(':')[-1]} {label or entry['name']}: {hook_kind} hook {name!r} failed: "
                f"{type(e).__name__}: {e}"
            ) from e
        with r.lock:
            r.hook_runs.append(
                {
                    "hook": name,
                    "kind": kind,
                    "urn": entry["urn"],
                    "container": str(label or entry["name"]),
                    "seconds": round(time.monotonic() - started, 2),
                }
            )


# --- delete -----------------------------------------------------------------------------


def delete(r: Realizer, entry: Entry, replacing: bool, pending: bool) -> None:
    """step.go: DeleteStep.Apply: before_delete hooks; a protected resource is refused (unless
    it is being replaced); retain_on_delete drops it from the state only; else the provider's
    Delete (retried while an on_error hook asks); after_delete hooks; out of the state."""
    urn = entry["urn"]
    _run_delete_hooks(r, entry, "beforeDelete")
    if not replacing and entry.get("protect"):
        raise RealizeError(
            f"resource {urn!r} cannot be deleted\nbecause it is protected. To unprotect the resource, either remove "
            f"the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:\n"
            f"`pulumi state unprotect '{urn}'`"
        )
    if entry.get("retainOnDelete"):
        log.info("%s: retained (retain_on_delete): dropped from the state, not deleted", urn)
        with r.lock:
            r.retained.append(urn)
    elif entry.get("custom", True):
        rtype = r.resource_type(entry["type"])
        failures: list[str] = []
        while True:
            try:
                rtype.delete(r, entry)
                break
            except Exception as e:  # noqa: BLE001 - reported as the engine does below
                failures.insert(0, str(e))
                if len(failures) >= MAX_ERROR_HOOK_RETRIES:
                    raise RealizeError(
                        f"maximum number of error hook retries ({MAX_ERROR_HOOK_RETRIES}) reached"
                    ) from e
                if not run_error_hooks(
                    r,
                    entry,
                    urn,
                    entry["id"],
                    "delete",
                    failures,
                    old_inputs=entry.get("inputs"),
                    old_outputs=entry.get("outputs"),
                ):
                    raise
    _run_delete_hooks(r, entry, "afterDelete")
    r.state.remove(urn, pending, entry.get("id"))
    with r.lock:
        r.deleted.append(str(entry.get("outputs", {}).get("name") or urn) if entry.get("custom", True) else urn)


def _depends_on(a: Entry, b: Entry) -> bool:
    """Whether a depends on b (dependencies, parent, provider, deletedWith)."""
    urn = b["urn"]
    provider = str(a.get("provider") or "").split("::")
    return (
        urn in (a.get("dependencies") or [])
        or a.get("parent") == urn
        or a.get("deletedWith") == urn
        or "::".join(provider[:-1]) == urn
    )


def delete_all(r: Realizer, entries: list[tuple[Entry, bool]]) -> None:
    """Delete entries (each with whether it is a pending delete) in reverse dependency order,
    those that nothing left depends on at once, as the engine's delete phase schedules them
    (deployment_executor.go: the delete graph). The first failing round fails the operation;
    what was deleted before is out of the state, the rest stays."""
    left = list(entries)
    while left:
        ready = [(e, p) for e, p in left if not any(_depends_on(o, e) for o, _ in left if o is not e)]
        if not ready:  # a cycle: cannot happen in a real state; delete in reverse order
            ready = [left[-1]]
        errors = _delete_round(r, ready)
        if errors:
            raise RealizeError("deleting failed:\n" + "\n".join(errors))
        left = [pair for pair in left if all(pair[0] is not e for e, _ in ready)]


def _delete_round(r: Realizer, ready: list[tuple[Entry, bool]]) -> list[str]:
    """Delete these at once (nothing left depends on them); the errors."""
    errors: list[str] = []

    def one(entry: Entry, pending: bool) -> None:
        try:
            delete(r, entry, replacing=False, pending=pending)
        except Exception as e:  # noqa: BLE001 - collected, then the operation fails
            with r.lock:
                errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=one, args=pair) for pair in ready]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def delete_phase(r: Realizer) -> None:
    """After a successful `pulumi up`: the pending deletes of create-before-delete replacements
    (now or in a failed deployment before), and the resources the program no longer registers
    (deployment_executor.go: Execute, then GenerateDeletes)."""
    with r.lock:
        registered = set(r.registered_urns)
    entries: list[tuple[Entry, bool]] = [(e, True) for e in r.state.pending_deletes()]
    entries += [({**e, "urn": urn}, False) for urn, e in r.state.resources().items() if urn not in registered]
    delete_all(r, entries)


def destroy(r: Realizer, run_program: bool) -> None:
    """pulumi destroy: refused without --run-program when a resource has delete hooks
    (pkg/engine/destroy.go: newDestroySource); then every resource of the state (and every
    pending delete) is deleted in reverse dependency order (step_generator.go: destroyMode)."""
    resources = r.state.resources()
    if not run_program:
        hooked = sorted(
            urn
            for urn, e in resources.items()
            if e.get("hooks", {}).get("beforeDelete") or e.get("hooks", {}).get("afterDelete")
        )
        if hooked:
            raise RealizeError(
                f"Resource has delete hooks registered, but the program is not running ({', '.join(hooked)}).\n"
                + RUN_PROGRAM_NEEDED
            )
    entries: list[tuple[Entry, bool]] = [(e, True) for e in r.state.pending_deletes()]
    entries += [({**e, "urn": urn}, False) for urn, e in resources.items()]
    delete_all(r, entries)
