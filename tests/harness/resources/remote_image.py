"""docker:index/remoteImage:RemoteImage and the getRemoteImage invoke: an image
that must already be on the engine (this harness never pulls: no registry is reachable).

Follows terraform-provider-docker v4.5.0 internal/provider/resource_docker_image.go (every
attribute ForceNew) and resource_docker_image_funcs.go: resourceDockerImageCreate (id
<image id><name>) and resourceDockerImageDelete (the image is removed unless keepLocally)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import docker.errors

from ..engine import ResourceType
from ..state import Entry
from ..values import RealizeError, check_keys, plain

if TYPE_CHECKING:
    from ..realizer import Realizer

REMOTE_IMAGE_KEYS = {"name", "keepLocally", "forceRemove", "triggers", "pullTriggers", "platform"}


def repo_digest(image: dict) -> str:
    """The image's first repo digest, else its id (a locally built image has none)."""
    digests = image.get("RepoDigests") or []
    return digests[0] if digests else image["Id"]


def realize(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("RemoteImage", name, i, REMOTE_IMAGE_KEYS)
    ref = i.get("name")
    if not ref:
        raise RealizeError(f"RemoteImage {name!r}: name is required")
    image = r.local_image(ref, f"RemoteImage {name!r}")
    # terraform-provider-docker internal/provider/resource_docker_image_funcs.go:
    # resourceDockerImageCreate sets the id to <image id><name>.
    return image["Id"] + ref, {**inputs, "imageId": image["Id"], "repoDigest": repo_digest(image)}


def delete(r: Realizer, entry: Entry) -> None:
    i = plain(entry.get("inputs") or {})
    if i.get("keepLocally"):
        return
    try:
        r.api.remove_image(
            plain(entry.get("outputs") or {}).get("imageId") or i["name"], force=bool(i.get("forceRemove"))
        )
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        raise RealizeError(
            f"RemoteImage {entry['name']!r}: Unable to remove Docker image: {e.explanation or e}"
        ) from None


TYPE = ResourceType(create=realize, delete=delete)


def get_remote_image(r: Realizer, token: str, args: dict) -> dict:
    """terraform-provider-docker internal/provider/data_source_docker_image.go (the local image's id and digest)."""
    check_keys("invoke", token, args, {"name"})
    image = r.local_image(args["name"], token)
    return {"id": image["Id"], "name": args["name"], "repoDigest": repo_digest(image)}
