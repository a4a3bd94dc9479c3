"""docker:index/image:Image: a local ``docker build`` (BuildKit), never a push.

Follows pulumi-docker provider/image.go (the native Image resource): context and
Dockerfile relative to the program's working directory, the default Dockerfile
<context>/Dockerfile, ``repoDigest`` the built image (no registry here: its id).
provider/provider.go: Diff never replaces (a change is an update, which builds again; the id
stays the image name) and Delete does nothing (the image stays on the engine). Not reproduced:
the provider's context digest, which skips the build when nothing changed; here every `up`
builds (an update), which the build cache makes cheap and gives the same id."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING, Any

from ..engine import Diff, ResourceType, input_diff
from ..state import Entry
from ..values import RealizeError, check_keys, plain, tail

if TYPE_CHECKING:
    from ..realizer import Realizer

log = logging.getLogger("live.realizer")

IMAGE_KEYS = {"imageName", "build", "skipPush", "buildOnPreview", "registry"}
IMAGE_BUILD_KEYS = {"context", "dockerfile", "args", "target", "platform", "builderVersion", "addHosts", "network"}

DOCKER_CLI = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"


def realize(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("Image", name, i, IMAGE_KEYS)
    image_name = i.get("imageName")
    if not image_name:
        raise RealizeError(f"Image {name!r}: imageName is required")
    if not i.get("skipPush", False):
        raise RealizeError(f"Image {name!r}: skipPush is false, and this harness cannot push to a registry")
    build = i.get("build") or {}
    check_keys("Image", name, build, IMAGE_BUILD_KEYS, "build")
    context = build.get("context") or "."
    # pulumi-docker provider/image.go: context and dockerfile are relative to the
    # program's working directory; the default Dockerfile is <context>/Dockerfile.
    dockerfile = build.get("dockerfile") or os.path.join(context, "Dockerfile")
    ctx_abs = os.path.normpath(os.path.join(r.program_dir, context))
    df_abs = os.path.normpath(os.path.join(r.program_dir, dockerfile))
    if not os.path.isdir(ctx_abs):
        raise RealizeError(f"Image {name!r}: build context {ctx_abs} is not a directory")
    if not os.path.isfile(df_abs):
        raise RealizeError(f"Image {name!r}: Dockerfile {df_abs} does not exist")
    version = build.get("builderVersion") or "BuilderBuildKit"
    if version not in ("BuilderBuildKit", "BuilderV1"):
        raise RealizeError(f"Image {name!r}: invalid builderVersion {version!r}")

    image_id = _build(r, name, image_name, build, version, df_abs, ctx_abs)
    state = {
        **inputs,
        "imageName": image_name,
        "baseImageName": image_name,
        "repoDigest": image_id,
        "context": context,
        "dockerfile": os.path.relpath(df_abs, ctx_abs),
        "registryServer": "",
    }
    if build.get("platform"):
        state["platform"] = build["platform"]
    return image_name, state


def diff(r: Realizer, name: str, old: Entry, news: dict) -> Diff:
    """Always an update (a build): see the module's docstring."""
    return Diff(input_diff(old, news) or ["build"])


def update(r: Realizer, name: str, old: Entry, news: dict, urn: str) -> dict:
    return realize(r, name, news, urn)[1]


TYPE = ResourceType(create=realize, diff=diff, update=update)


def _build_command(image_name: str, build: dict[str, Any], df_abs: str) -> list[str]:
    cmd = [DOCKER_CLI, "build", "--progress=plain", "-f", df_abs, "-t", image_name]
    for key, value in sorted((build.get("args") or {}).items()):
        cmd += ["--build-arg", f"{key}={value}"]
    if build.get("target"):
        cmd += ["--target", build["target"]]
    if build.get("platform"):
        cmd += ["--platform", build["platform"]]
    for host in build.get("addHosts") or []:
        cmd += ["--add-host", host]
    if build.get("network"):
        cmd += ["--network", build["network"]]
    return cmd


def cli_environment(engine: Any, directory: str, path: str) -> dict[str, str]:
    """The docker CLI's environment for the engine the provider builds on: pulumi-docker sends the
    build (and its context) over its own connection to that engine (provider/image.go: dockerBuild,
    with the client of provider/provider.go Configure). unix/tcp: DOCKER_HOST; TLS: the CLI's
    DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (material written to `directory`); ssh: DOCKER_HOST and,
    for docker:sshOpts, an `ssh` first on PATH that adds them, as the provider passes them to the
    CLI's connection helper (connhelper.GetConnectionHelperWithSSHOpts)."""
    if engine is None:
        return {}
    env = {"DOCKER_HOST": engine.host}
    if engine.transport == "tls-cert-path":
        env.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=engine.cert_path)
    elif engine.transport == "tls-material":
        for file, text in (
            ("ca.pem", engine.ca_material),
            ("cert.pem", engine.cert_material),
            ("key.pem", engine.key_material),
        ):
            with open(os.open(os.path.join(directory, file), os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(text or "")
        env.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=directory)
    elif engine.transport == "ssh" and engine.ssh_opts:
        real = shutil.which("ssh", path=path) or "ssh"
        wrapper = os.path.join(directory, "ssh")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec {shlex.quote(real)} {" ".join(shlex.quote(o) for o in engine.ssh_opts)} "$@"\n')
        os.chmod(wrapper, 0o700)
        env["PATH"] = f"{directory}{os.pathsep}{path}"
    return env


def _build(
    r: Realizer, name: str, image_name: str, build: dict[str, Any], version: str, df_abs: str, ctx_abs: str
) -> str:
    """Run the build; the image id, or an error with the end of the build log."""
    cmd = _build_command(image_name, build, df_abs)
    fd, iidfile = tempfile.mkstemp(prefix="live-iid-")
    os.close(fd)
    cmd += ["--iidfile", iidfile, ctx_abs]
    env = dict(os.environ, DOCKER_BUILDKIT="1" if version == "BuilderBuildKit" else "0")
    cli_dir = tempfile.mkdtemp(prefix="live-docker-cli-")
    env.update(cli_environment(r.engine, cli_dir, env.get("PATH", "")))
    log_path = os.path.join(r.build_log_dir, f"live-build-{r.run_id}-{name}.log")
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, env=env, cwd=r.program_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800
        )
        if proc.returncode != 0:
            with open(log_path, "w") as f:
                f.write(proc.stdout)
            raise RealizeError(
                f"Image {name!r}: docker build failed (exit {proc.returncode}); full log in "
                f"{log_path}; last lines:\n{tail(proc.stdout, 60)}"
            )
        with open(iidfile) as f:
            image_id = f.read().strip()
    finally:
        # The docker CLI removes the file before it builds (a failed build leaves none).
        with contextlib.suppress(FileNotFoundError):
            os.unlink(iidfile)
        shutil.rmtree(cli_dir, ignore_errors=True)
    log.info("built %s as %s in %.1fs", image_name, image_id[:19], time.monotonic() - started)
    return image_id
