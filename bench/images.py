"""Image figures: the service image against a naive single-stage one on the
same base, and build times (cold, and after a code-only change), with
BuildKit and Debian's docker client, in a throwaway copy of the tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.harness.live import copy_repo

DOCKER = "/usr/bin/docker"
HERE = Path(__file__).resolve().parent


def _build(context: Path, tag: str, base_image: str, dockerfile: Path, no_cache: bool) -> float:
    cmd = [DOCKER, "build", "--quiet", "-t", tag, "-f", str(dockerfile), "--build-arg", f"BASE_IMAGE={base_image}"]
    if no_cache:
        cmd.append("--no-cache")
    started = time.monotonic()
    proc = subprocess.run(
        cmd + [str(context)], capture_output=True, text=True, env=dict(os.environ, DOCKER_BUILDKIT="1"), timeout=1800
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"docker build of {tag} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return round(elapsed, 1)


def _change_code(tree: Path) -> None:
    """A code-only change: new content in one file under app/ (a touch alone
    changes no checksum, so BuildKit would rebuild nothing)."""
    with open(tree / "app" / "books" / "views.py", "a") as f:
        f.write(f"\n# bench: code-only change {time.time()}\n")


def _size_mb(client, ref: str) -> float:
    return round(client.images.get(ref).attrs["Size"] / 1e6, 1)


def image_figures(client, base_image: str, tag_prefix: str, created_tags: list[str]) -> dict:
    """Builds under tags `tag_prefix-*` (appended to created_tags for cleanup)."""
    work = Path(tempfile.mkdtemp(prefix="library-bench-image-"))
    try:
        service = Path(copy_repo(str(work / "service")))
        naive = Path(copy_repo(str(work / "naive")))
        (naive / ".dockerignore").unlink(missing_ok=True)

        tags = {kind: f"{tag_prefix}:{kind}" for kind in ("cold", "rebuild", "naive", "naive-rebuild")}
        created_tags += list(tags.values())
        cold_s = _build(service, tags["cold"], base_image, service / "Dockerfile", no_cache=True)
        _change_code(service)
        rebuild_s = _build(service, tags["rebuild"], base_image, service / "Dockerfile", no_cache=False)
        naive_dockerfile = naive / "bench" / "Dockerfile.naive"
        naive_s = _build(naive, tags["naive"], base_image, naive_dockerfile, no_cache=True)
        _change_code(naive)
        naive_rebuild_s = _build(naive, tags["naive-rebuild"], base_image, naive_dockerfile, no_cache=False)
        return {
            "base_image": base_image,
            "base_mb": _size_mb(client, base_image),
            "service_mb": _size_mb(client, tags["cold"]),
            "naive_mb": _size_mb(client, tags["naive"]),
            "cold_build_s": cold_s,
            "code_change_rebuild_s": rebuild_s,
            "naive_cold_build_s": naive_s,
            "naive_code_change_rebuild_s": naive_rebuild_s,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def remove_images(client, tags: list[str]) -> None:
    for tag in tags:
        try:
            client.images.remove(tag, noprune=False)
        except Exception:  # noqa: BLE001 - never built (a failure before it), or gone
            pass
