"""The reverse proxy: nginx owns the published port and balances the API replicas.

Its configuration (nginx_config.py) is copied in with `uploads`, which rules
out a read-only root: it runs instead as nginx's unprivileged user with no
capability and a tmpfs for what it writes. A fixed name and host port make a
change replace it delete-before-replace, a short outage (docs/deploy.md,
"Topology: the reverse proxy").
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
from container_parts import LOGGING, REPLACE_ON_CHANGES, RESTART, graceful_stop, hardening, health_gate, memory_limit
from labels import StackNames
from nginx_config import (
    CONFIG_FILE,
    HEALTH_PATH,
    HEALTH_PORT,
    MAINTENANCE_PAGE,
    MAINTENANCE_PAGE_FILE,
    PROXY_PORT,
    TLS_CERTIFICATE_FILE,
    TLS_KEY_FILE,
    nginx_config,
)

#: uid/gid of the `nginx` user in the official image and in the Debian-made one.
NGINX_USER = "101:101"
PROXY_MEMORY_MB = 128
NGINX_BINARY = "/usr/sbin/nginx"
HEALTHCHECK = ["CMD", "curl", "-fsS", "-o", "/dev/null", f"http://127.0.0.1:{HEALTH_PORT}{HEALTH_PATH}"]
#: nginx opens one upstream connection per request (a variable proxy_pass has
#: no keepalive pool), and each closed one holds its local port in TIME_WAIT
#: for a minute: at a few hundred requests a second the container's ~28k
#: ephemeral ports run out ("Cannot assign requested address", then 502s).
#: Both sysctls are per network namespace, i.e. this container's own.
UPSTREAM_PORT_SYSCTLS = {
    "net.ipv4.tcp_tw_reuse": "1",
    "net.ipv4.ip_local_port_range": "1024 65535",
}


class Proxy(pulumi.ComponentResource):
    """The nginx container in front of the API replicas."""

    container: docker.Container
    config_text: str

    def __init__(
        self,
        name: str,
        *,
        names: StackNames,
        image: str,
        network_name: pulumi.Input[str],
        upstream_host: str,
        upstream_port: int,
        host_port: int,
        bind_address: str,
        #: (PEM certificate chain, PEM key) to terminate TLS, or None for plain HTTP.
        tls: tuple[str, str] | None,
        #: "https" when TLS is terminated by another proxy in front of this one.
        forwarded_proto: str,
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("library:infra:Proxy", name, None, opts)
        self.config_text = nginx_config(
            upstream_host=upstream_host,
            upstream_port=upstream_port,
            tls=tls is not None,
            forwarded_proto=forwarded_proto,
        )
        uploads = [
            docker.ContainerUploadArgs(file=CONFIG_FILE, content=self.config_text),
            # What a browser gets in maintenance mode (infra/maintenance.py).
            docker.ContainerUploadArgs(file=MAINTENANCE_PAGE_FILE, content=MAINTENANCE_PAGE.read_text()),
        ]
        if tls is not None:
            certificate, key = tls
            uploads += [
                docker.ContainerUploadArgs(file=TLS_CERTIFICATE_FILE, content=certificate),
                # Readable by the nginx user (files are uploaded as root, 0644);
                # nothing else runs in the container.
                docker.ContainerUploadArgs(file=TLS_KEY_FILE, content=pulumi.Output.secret(key)),
            ]
        server_image = docker.RemoteImage(
            f"{name}-image", name=image, keep_locally=True, opts=pulumi.ResourceOptions(parent=self)
        )
        self.container = docker.Container(
            f"{name}-nginx",
            name=f"{names.prefix}-proxy",
            image=server_image.image_id,
            entrypoints=[NGINX_BINARY],
            command=["-c", CONFIG_FILE, "-g", "daemon off;"],
            uploads=uploads,
            ports=[docker.ContainerPortArgs(internal=PROXY_PORT, external=host_port, ip=bind_address, protocol="tcp")],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name)],
            **health_gate(HEALTHCHECK, timeout="3s", start_period="10s"),
            restart=RESTART,
            **memory_limit(PROXY_MEMORY_MB),
            **hardening(NGINX_USER, read_only=False),
            sysctls=dict(UPSTREAM_PORT_SYSCTLS),
            # nginx's graceful shutdown: finish the requests under way.
            **graceful_stop(15, "SIGQUIT"),
            **LOGGING,
            labels=names.labels("proxy"),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                # It owns the published port and a fixed name.
                delete_before_replace=True,
                replace_on_changes=[*REPLACE_ON_CHANGES, "uploads"],
            ),
        )
        self.register_outputs({"container_name": self.container.name})
