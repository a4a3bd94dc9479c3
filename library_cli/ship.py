"""`library ship`: copy images to a stack's Docker host that cannot pull them (no registry,
an air-gapped host, CI's Debian-made base images): `docker save | docker load` over the
connection the provider uses, only for the images whose id the host lacks.
docs/deploy.md, "Remote hosts".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
import yaml
from docker_engine import Engine, resolve_engine

from library_cli import REPO
from library_cli.stack import OperatorError

#: The stack's images the host must have before `pulumi up` (the service image is built there).
IMAGE_KEYS = ("pythonImage", "postgresImage", "nginxImage")
#: A load of a large image may keep the engine busy a while before it answers.
TRANSFER_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Shipped:
    ref: str
    image_id: str
    #: "shipped", "present" (the host has this id under this name) or "tagged" (it had the id only).
    outcome: str
    bytes: int = 0
    seconds: float = 0.0


def project_dir(start: Path) -> Path:
    """The Pulumi project `start` is in (the nearest directory up with a Pulumi.yaml), as for
    `pulumi`; this checkout when there is none."""
    return next((d for d in (start, *start.parents) if (d / "Pulumi.yaml").is_file()), REPO)


def stack_target(stack: str, environ: Mapping[str, str], repo: Path) -> tuple[Engine, list[str]]:
    """The engine the next `pulumi up` of `stack` deploys to (the docker: keys of Pulumi.<stack>.yaml
    and their environment fallbacks, as the provider resolves them) and the stack's base images
    (its pythonImage, postgresImage and nginxImage, or the project's defaults)."""
    stack_file = repo / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise OperatorError(f"no stack file {stack_file.name}: create it (docs/deploy.md, Remote hosts)")
    project = yaml.safe_load((repo / "Pulumi.yaml").read_text()) or {}
    namespace = project.get("name", "library")
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    raw: dict[str, str | None] = {}
    for key, value in config.items():
        if not str(key).startswith("docker:"):
            continue
        if isinstance(value, dict) and "secure" in value:
            raise OperatorError(
                f"{key} is encrypted in {stack_file.name}; give the engine through the environment "
                f"(DOCKER_HOST, DOCKER_CERT_PATH, ...) instead"
            )
        raw[str(key).split(":", 1)[1]] = json.dumps(value) if isinstance(value, list) else str(value)
    problems: list[str] = []
    engine = resolve_engine(raw, environ, problems=problems)
    if engine is None:
        raise OperatorError(f"{stack_file.name}: " + "; ".join(problems))
    defaults = {k: (v or {}).get("default") for k, v in (project.get("config") or {}).items() if isinstance(v, dict)}
    images = [str(config.get(f"{namespace}:{key}") or defaults.get(key) or "") for key in IMAGE_KEYS]
    return engine, [ref for ref in images if ref]


def _counting(chunks: Iterator[bytes], sent: list[int], progress: Callable[[int], None]) -> Iterator[bytes]:
    for chunk in chunks:
        sent[0] += len(chunk)
        progress(len(chunk))
        yield chunk


def ship(
    source: Any, target: Any, ref: str, progress: Callable[[int], None] = lambda _: None, force: bool = False
) -> Shipped:
    """Copy image `ref` from the `source` engine to the `target` engine unless the target has its id."""
    try:
        image_id = source.api.inspect_image(ref)["Id"]
    except docker.errors.ImageNotFound as error:
        raise OperatorError(
            f"{ref} is not on the engine it is shipped from: pull or build it there first "
            f"(scripts/build-debian-images.sh for library-base/*)"
        ) from error
    if not force:
        try:
            if target.api.inspect_image(ref)["Id"] == image_id:
                return Shipped(ref, image_id, "present")
        except docker.errors.ImageNotFound:
            pass
        try:
            if "@" in ref:  # a digest names the content: nothing to tag
                raise docker.errors.ImageNotFound(ref)
            target.api.inspect_image(image_id)
            repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
            target.api.tag(image_id, repository, tag or "latest")
            return Shipped(ref, image_id, "tagged")
        except docker.errors.ImageNotFound:
            pass
    started, sent = time.monotonic(), [0]
    for message in target.api.load_image(_counting(source.api.get_image(ref), sent, progress)):
        if isinstance(message, dict) and message.get("error"):
            raise OperatorError(f"the host refused {ref}: {message['error']}")
    landed = target.api.inspect_image(ref)["Id"]
    if landed != image_id:
        raise OperatorError(f"{ref} arrived as {landed}, not {image_id}")
    return Shipped(ref, image_id, "shipped", sent[0], time.monotonic() - started)
