"""The service image, built from the checkout by the deployment itself.

Containers run the build's `repo_digest`, so a new build replaces them while
the tag would look unchanged. Without `imageRepository` (`skip_push`) the
image stays on the Docker host, no registry needed, and that is its id; with
one it is pushed as `<repository>:<stack>` and that is the registry's digest,
`<repository>@sha256:...` (pulumi-docker provider/image.go dockerBuild);
credentials as its `registry` input takes them, else the deploying machine's
Docker config (getRegistryAuth): docs/deploy.md, "Pushing to a registry".
`apiImage` runs a given image instead, for rollbacks (docs/deploy.md,
"Rolling back"). Paths are relative to infra/, the program's working
directory.

The build is for the engine's platform, not this machine's (left alone,
pulumi-docker builds for the platform of the machine running pulumi:
provider/provider.go Check, `runtime.GOARCH`): `platform` when set, else the
platform the engine itself reports, asked through the provider's connection
(docker_engine.py). A preview that cannot ask leaves it unknown; an update
that cannot ask warns and lets the provider choose (the build then fails on
the same unreachable engine, and `destroy --run-program` goes on).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker
from docker_engine import Engine, engine_client, engine_platform

BUILD_CONTEXT = ".."
DOCKERFILE = "../Dockerfile"
PROBE_TIMEOUT_SECONDS = 30


def ask_engine_platform(engine: Engine, client_for=engine_client) -> str:
    """The engine's own platform (`linux/amd64`...); raises what the connection raised."""
    with client_for(engine, PROBE_TIMEOUT_SECONDS) as client:
        return engine_platform(client)


def probe_platform(engine: Engine, *, dry_run: bool, client_for=engine_client, log=pulumi.log) -> Any:
    """The engine's platform; when the engine cannot be asked: UNKNOWN in a preview, else None (the
    provider chooses), each with a warning. Never raises (see the module docstring)."""
    try:
        found = ask_engine_platform(engine, client_for)
    except Exception as error:  # noqa: BLE001 - a preview or a destroy must not fail on it
        what = f"could not ask the Docker engine at {engine.host} for its platform ({type(error).__name__}: {error})"
        if dry_run:
            log.warn(f"{what}; the image's platform stays unknown until `pulumi up` asks again")
            return pulumi.UNKNOWN
        log.warn(
            f"{what}; the provider builds for the platform of the machine running pulumi instead. Set "
            "`library:platform` to choose"
        )
        return None
    log.info(f"building the service image for {found}, the platform of the Docker engine at {engine.host}")
    return found


def build_platform(platform: str | None, engine: Engine) -> pulumi.Output:
    """`platform` when set (the engine is not asked), else the engine's platform (probe_platform)."""
    if platform:
        return pulumi.Output.from_input(platform)
    return pulumi.Output.from_input(None).apply(lambda _: probe_platform(engine, dry_run=pulumi.runtime.is_dry_run()))


class AppImage(pulumi.ComponentResource):
    """`<project>-api:<stack>` (or `<repository>:<stack>`, pushed), built from ../Dockerfile, or the
    image `api_image` names."""

    #: The build, or None when `api_image` names the image to run.
    image: docker.Image | None
    #: The build's image id (sha256:...) or, pushed, its registry digest (<repository>@sha256:...), or
    #: `api_image`; what containers run.
    ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        project: str,
        stack: str,
        base_image: str,
        api_image: str | None,
        platform: str | None,
        engine: Engine,
        repository: str | None = None,
        login: tuple[str, str] | None = None,
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
            image_name=f"{repository or project + '-api'}:{stack}",
            build=docker.DockerBuildArgs(
                context=BUILD_CONTEXT,
                dockerfile=DOCKERFILE,
                # LIBRARY_*: the image's own labels (docker.Image has no labels input).
                args={"BASE_IMAGE": base_image, "LIBRARY_PROJECT": project, "LIBRARY_STACK": stack},
                platform=build_platform(platform, engine),
            ),
            skip_push=repository is None,
            # The registry host comes from the image name when `server` is unset (provider/image.go
            # getRegistryAddrForAuth); changing only the login rebuilds nothing (provider/provider.go diffUpdates).
            registry=docker.RegistryArgs(username=login[0], password=pulumi.Output.secret(login[1])) if login else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ref = self.image.repo_digest
        self.register_outputs({"ref": self.ref, "image_name": self.image.image_name})
