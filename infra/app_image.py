"""The service image, built from the repository's Dockerfile.

Why: the image is built by the deployment itself, so `pulumi up` always runs
the code of the checkout it was started from. With `skip_push=True` the image
stays on the Docker host (no registry needed); pulumi-docker rebuilds only
when the build context or Dockerfile hash changes, and `repo_digest` is then
the local image id (sha256:...). Containers take `repo_digest`, never the
tag: a new build is a new id, which replaces the containers, while the tag
`library-api:<stack>` would look unchanged.

Rollback: with `apiImage` set (an image id such as a previous deployment's
`image` output, or a reference), nothing is built and the containers run that
image instead; the migration step still runs for it (a no-op when the schema
is already there). docs/deploy.md has the procedure.

Paths are relative to infra/, the working directory the Pulumi CLI gives the
program (`main: infra/` in Pulumi.yaml): the build context is the repository
root (`..`), filtered by its .dockerignore.
"""
from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_docker as docker

from config import Settings

BUILD_CONTEXT = ".."
DOCKERFILE = "../Dockerfile"


class AppImage(pulumi.ComponentResource):
    """`library-api:<stack>`, built locally from ../Dockerfile."""

    #: The build, or None when `apiImage` names the image to run.
    image: Optional[docker.Image]
    #: Image id of the build (sha256:...), or `apiImage`; what containers run.
    ref: pulumi.Output[str]

    def __init__(self, name: str, *, settings: Settings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("library:infra:AppImage", name, None, opts)
        if settings.api_image:
            self.image = None
            self.ref = pulumi.Output.from_input(settings.api_image)
            self.register_outputs({"ref": self.ref, "image_name": settings.api_image})
            return
        self.image = docker.Image(
            f"{name}-build",
            image_name=f"{settings.project}-api:{settings.stack}",
            build=docker.DockerBuildArgs(
                context=BUILD_CONTEXT,
                dockerfile=DOCKERFILE,
                # LIBRARY_*: the image's own labels (docker.Image has no labels input).
                args={
                    "BASE_IMAGE": settings.python_image,
                    "LIBRARY_PROJECT": settings.project,
                    "LIBRARY_STACK": settings.stack,
                },
            ),
            skip_push=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ref = self.image.repo_digest
        self.register_outputs({"ref": self.ref, "image_name": self.image.image_name})
