"""The service image, built from the checkout by the deployment itself.

`skip_push`: the image stays on the Docker host, no registry needed, and
containers run its id (`repo_digest`), so a new build replaces them while the
tag would look unchanged; `apiImage` runs a given image instead, for
rollbacks (docs/deploy.md, "Rolling back"). Paths are relative to infra/,
the program's working directory.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

BUILD_CONTEXT = ".."
DOCKERFILE = "../Dockerfile"


class AppImage(pulumi.ComponentResource):
    """`<project>-api:<stack>`, built from ../Dockerfile, or the image `api_image` names."""

    #: The build, or None when `api_image` names the image to run.
    image: docker.Image | None
    #: Image id of the build (sha256:...), or `api_image`; what containers run.
    ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        project: str,
        stack: str,
        base_image: str,
        api_image: str | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("library:infra:AppImage", name, None, opts)
        if api_image:
            self.image = None
            self.ref = pulumi.Output.from_input(api_image)
            self.register_outputs({"ref": self.ref, "image_name": api_image})
            return
        self.image = docker.Image(
            f"{name}-build",
            image_name=f"{project}-api:{stack}",
            build=docker.DockerBuildArgs(
                context=BUILD_CONTEXT,
                dockerfile=DOCKERFILE,
                # LIBRARY_*: the image's own labels (docker.Image has no labels input).
                args={"BASE_IMAGE": base_image, "LIBRARY_PROJECT": project, "LIBRARY_STACK": stack},
            ),
            skip_push=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ref = self.image.repo_digest
        self.register_outputs({"ref": self.ref, "image_name": self.image.image_name})
