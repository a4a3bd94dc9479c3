"""The reverse proxy: nginx owns the published port and balances the API replicas.

Why these choices:
- The proxy, not the API, publishes `bindAddress:hostPort`. API replicas
  publish nothing, so they need no fixed names or ports, and a deployment can
  start new replicas next to the old ones (create-before-delete, api.py).
- nginx finds the replicas through Docker's DNS on the stack network (alias
  `api`, resolver 127.0.0.11). `proxy_pass` takes the address from a
  variable, so nginx resolves the name at request time (cached `valid=1s`)
  instead of once at start-up: a replica that joins the network gets traffic
  within a second, and one that is removed drops out of the answer. The name
  resolves to every replica's address; nginx round-robins over them. Debian's
  nginx 1.22 has no `server ... resolve` in upstream blocks, which would do
  the same with an upstream's keepalive pool; the variable works everywhere.
- Retries: `proxy_next_upstream error timeout http_502 http_503` sends a
  request to the next address when a replica refuses the connection, does
  not answer it, fails or answers 502/503 (a replica going away, or still
  starting: it is in DNS from creation, before it is healthy). Non-idempotent
  requests (POST, PATCH) are retried only when nginx could not send them at
  all (connection refused or not accepted within `proxy_connect_timeout`),
  never after a replica may have acted on them (`non_idempotent` is
  deliberately absent). A replica about to be deleted is drained first
  (drain_hook.py): it ignores new connections, which therefore go to another
  replica after at most the connect timeout (1 s; a healthy replica on the
  same host accepts in well under a millisecond, in the kernel), and serves
  the ones it has. Each address is tried at most once per request
  (`proxy_next_upstream_tries 0`: no count below the number of replicas,
  since during a deploy every old replica may be draining at once), within
  10 s in all.
- Limits: client_max_body_size equals the app's 64 KiB body limit (larger is
  a 413 from nginx, before any replica sees it); header, body, send and
  upstream timeouts are bounded, so a slow client cannot hold a connection
  for long; keep-alive to clients, a new connection per upstream request
  (no pooled connection to a replica that is shutting down).
- Forwarded headers: X-Forwarded-For (the client appended to what it sent),
  -Proto and -Host. The API trusts them only from the stack network
  (GUNICORN_FORWARDED_ALLOW_IPS, app_env.py), and DRF's throttling takes the
  last X-Forwarded-For entry (API_NUM_PROXIES), which a client cannot forge.
- gzip for JSON, HTML and text; access logs as JSON lines on stdout.
- The configuration is generated here and delivered with `uploads` (the
  provider copies the files into the container before it starts). That rules
  out a read-only root file system (Docker refuses to copy into one), so the
  container instead runs as nginx's unprivileged user (uid 101 in the official
  image and in the Debian-made one), listens on 8080 inside (no capability
  needed), drops every capability, and keeps everything it writes (pid file,
  temporary files) on a tmpfs.
- It has a health check of its own (`/nginx-health` on a loopback-only
  listener) and `wait=True`, and restarts unless stopped. It publishes a fixed
  host port and has a fixed name, so a change to its configuration or image
  replaces it delete-before-replace: a short outage, unlike a code deployment.
- With `tlsCertificate`/`tlsKey` it terminates TLS (TLS 1.2/1.3); the key is
  a secret input of the upload.
"""
from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_docker as docker

from config import Settings
from labels import labels

PROXY_PORT = 8080
HEALTH_PORT = 8081
CONFIG_DIR = "/etc/nginx/library"
CONFIG_FILE = f"{CONFIG_DIR}/nginx.conf"
TLS_CERTIFICATE_FILE = f"{CONFIG_DIR}/tls.crt"
TLS_KEY_FILE = f"{CONFIG_DIR}/tls.key"
NGINX_USER = "101:101"
NGINX_BINARY = "/usr/sbin/nginx"
TMPFS = {"/tmp": "rw,noexec,nosuid,size=64m"}
#: Docker's embedded DNS server, on every user-defined network.
DOCKER_DNS = "127.0.0.11"
#: The app's DJANGO_REQUEST_BODY_MAX_BYTES default (64 KiB).
BODY_MAX_KIB = 64
#: Upstream read timeout: longer than gunicorn's 30 s worker timeout, so the
#: app's own timeout answers first.
UPSTREAM_READ_TIMEOUT_S = 35
HEALTH_PATH = "/nginx-health"
HEALTHCHECK = ["CMD", "curl", "-fsS", "-o", "/dev/null", f"http://127.0.0.1:{HEALTH_PORT}{HEALTH_PATH}"]
GZIP_TYPES = (
    "application/json application/problem+json application/vnd.oai.openapi "
    "application/vnd.oai.openapi+json "
    "application/javascript text/css text/plain text/xml application/xml"
)


def nginx_config(*, upstream_host: str, upstream_port: int, tls: bool, forwarded_proto: str) -> str:
    """The complete nginx.conf of the proxy (pure: unit-tested as text).

    forwarded_proto: "$scheme", or "https" when TLS is terminated by another
    proxy in front of this one.
    """
    listen = f"listen {PROXY_PORT} ssl;" if tls else f"listen {PROXY_PORT};"
    tls_block = (
        f"""
        ssl_certificate {TLS_CERTIFICATE_FILE};
        ssl_certificate_key {TLS_KEY_FILE};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:TLS:10m;
        ssl_session_timeout 1h;
        ssl_session_tickets off;"""
        if tls
        else ""
    )
    return f"""# Generated by infra/proxy.py; do not edit (a change replaces the proxy).
worker_processes auto;
pid /tmp/nginx.pid;
error_log stderr warn;

events {{
    worker_connections 1024;
}}

http {{
    log_format json escape=json '{{"time":"$time_iso8601","logger":"nginx.access",'
        '"remote":"$remote_addr","method":"$request_method","uri":"$request_uri",'
        '"status":$status,"bytes":$body_bytes_sent,"duration_s":$request_time,'
        '"upstream":"$upstream_addr","upstream_status":"$upstream_status",'
        '"user_agent":"$http_user_agent"}}';
    access_log /dev/stdout json;
    server_tokens off;
    default_type application/octet-stream;

    # Everything nginx writes lives on the /tmp tmpfs.
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;

    # Replicas come and go: ask Docker's DNS again after at most a second.
    resolver {DOCKER_DNS} valid=1s ipv6=off;
    resolver_timeout 2s;

    # Bounded requests and waits.
    client_max_body_size {BODY_MAX_KIB}k;
    client_body_buffer_size {BODY_MAX_KIB}k;
    client_header_buffer_size 4k;
    large_client_header_buffers 4 8k;
    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 30s;
    keepalive_timeout 15s;
    keepalive_requests 1000;
    reset_timedout_connection on;

    map $status $proxy_error_allow {{
        405 "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE";
        default "";
    }}
    map $status $proxy_error_detail {{
        405 "Method not allowed.";
        413 "Request body too large: the limit is {BODY_MAX_KIB * 1024} bytes.";
        502 "The service is unavailable: no API replica answered.";
        503 "The service is unavailable.";
        504 "The service did not answer in time.";
        default "Error.";
    }}

    gzip on;
    gzip_proxied any;
    gzip_min_length 1024;
    gzip_comp_level 5;
    gzip_vary on;
    gzip_types {GZIP_TYPES};

    server {{
        {listen}
        server_name _;{tls_block}

        # Errors nginx itself answers are JSON, like the app's.
        # (nginx refuses TRACE itself, with a 405.)
        error_page 405 /__proxy_error/405;
        error_page 413 /__proxy_error/413;
        error_page 502 /__proxy_error/502;
        error_page 503 /__proxy_error/503;
        error_page 504 /__proxy_error/504;
        location ^~ /__proxy_error/ {{
            internal;
            default_type application/json;
            add_header Allow $proxy_error_allow always;
            return 200 '{{"detail": "$proxy_error_detail"}}';
        }}

        location / {{
            # A variable: resolved per request through the resolver above,
            # to every replica's address (round robin).
            set $api_upstream {upstream_host}:{upstream_port};
            proxy_pass http://$api_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto {forwarded_proto};
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;

            proxy_connect_timeout 1s;
            proxy_send_timeout 30s;
            proxy_read_timeout {UPSTREAM_READ_TIMEOUT_S}s;
            # Another replica when one fails; POST/PATCH only if never sent.
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 0;
            proxy_next_upstream_timeout 10s;
            proxy_buffering on;
            proxy_buffers 16 16k;
        }}
    }}

    # The proxy's own health check, reachable from inside the container only.
    server {{
        listen 127.0.0.1:{HEALTH_PORT};
        access_log off;
        location = {HEALTH_PATH} {{
            default_type text/plain;
            return 200 "ok\\n";
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""


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
        settings: Settings,
        network_name: pulumi.Input[str],
        upstream_host: str,
        upstream_port: int,
        depends_on: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("library:infra:Proxy", name, None, opts)
        self.config_text = nginx_config(
            upstream_host=upstream_host,
            upstream_port=upstream_port,
            tls=settings.tls,
            forwarded_proto="https" if settings.https and not settings.tls else "$scheme",
        )
        uploads = [docker.ContainerUploadArgs(file=CONFIG_FILE, content=self.config_text)]
        if settings.tls:
            uploads += [
                docker.ContainerUploadArgs(file=TLS_CERTIFICATE_FILE, content=settings.tls_certificate),
                # Readable by the nginx user (files are uploaded as root, 0644);
                # nothing else runs in the container.
                docker.ContainerUploadArgs(
                    file=TLS_KEY_FILE, content=pulumi.Output.secret(settings.tls_key)
                ),
            ]
        image = docker.RemoteImage(
            f"{name}-image",
            name=settings.nginx_image,
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.container = docker.Container(
            f"{name}-nginx",
            name=f"{settings.prefix}-proxy",
            image=image.image_id,
            entrypoints=[NGINX_BINARY],
            command=["-c", CONFIG_FILE, "-g", "daemon off;"],
            uploads=uploads,
            ports=[
                docker.ContainerPortArgs(
                    internal=PROXY_PORT, external=settings.host_port, ip=settings.bind_address, protocol="tcp"
                )
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(HEALTHCHECK),
                interval="5s",
                timeout="3s",
                retries=3,
                start_period="10s",
            ),
            wait=True,
            wait_timeout=60,
            restart="unless-stopped",
            memory=128,
            user=NGINX_USER,
            tmpfs=dict(TMPFS),
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            security_opts=["no-new-privileges:true"],
            sysctls=dict(UPSTREAM_PORT_SYSCTLS),
            # nginx's graceful shutdown: finish the requests under way.
            stop_signal="SIGQUIT",
            stop_timeout=15,
            destroy_grace_seconds=15,
            log_driver="json-file",
            log_opts={"max-size": "10m", "max-file": "3"},
            labels=labels(settings, "proxy"),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                # It owns the published port and a fixed name.
                delete_before_replace=True,
                replace_on_changes=["healthcheck", "tmpfs", "uploads"],
            ),
        )
        self.register_outputs({"container_name": self.container.name})
