"""What the service image's containers (migration and API) share: the port,
user, timeouts, secret key and environment. The migration runs the same image
with the same settings and restrictions as the API, which also proves at
migration time that the image works with them (docs/deploy.md, "The containers").
"""

from __future__ import annotations

import pulumi
import pulumi_random as random
from settings import Settings

#: The port the image listens on (its EXPOSE and gunicorn.conf.py's PORT default).
APP_PORT = 8000
#: The image's unprivileged user.
APP_USER = "10001:10001"
#: gunicorn replaces a worker whose request takes longer.
GUNICORN_TIMEOUT = 30
#: On SIGTERM gunicorn lets in-flight requests finish for this long...
GUNICORN_GRACEFUL_TIMEOUT = 8
#: ...and Docker waits this long after SIGTERM before a SIGKILL (docker stop,
#: a daemon shutdown, and the provider's delete): comfortably longer, so an
#: API container always stops gracefully (exit 0, not 137).
API_STOP_TIMEOUT_SECONDS = GUNICORN_GRACEFUL_TIMEOUT + 7
DATABASE_CONNECT_TIMEOUT = 5


class AppSecrets(pulumi.ComponentResource):
    """The Django secret key: random, generated once per stack, kept in state."""

    secret_key: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("library:infra:AppSecrets", name, None, opts)
        key = random.RandomPassword(
            f"{name}-django-secret-key",
            length=64,
            special=False,  # no quoting surprises in env files or shells
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret_key = pulumi.Output.secret(key.result)
        self.register_outputs({})


def _flag(value: bool) -> str:
    return "true" if value else "false"


def forwarding_proxies(settings: Settings) -> int:
    """How many proxies append to X-Forwarded-For before the app: ours, plus
    the TLS-terminating one in front when `https` is on without TLS here."""
    return 2 if settings.tls_in_front else 1


def app_envs(
    settings: Settings,
    *,
    database_url: pulumi.Input[str],
    secret_key: pulumi.Input[str],
    trusted_proxy_network: pulumi.Input[str],
) -> list[pulumi.Input[str]]:
    """The environment of the service image (see the app's config/settings.py).

    DJANGO_HTTPS follows whether clients use HTTPS (TLS at our proxy, or
    `https`: at a proxy in front): false when the service is published as
    plain HTTP (the default), or SSL redirects and secure cookies would lock
    browsers out. With HTTPS, X-Forwarded-Proto from the proxy is trusted.

    The app sits behind the reverse proxy (proxy.py): gunicorn honours
    X-Forwarded-* only from `trusted_proxy_network` (the stack network's
    subnet: nothing else can reach a replica, which publishes no port), and
    DRF's throttling counts the client address the proxy appended to
    X-Forwarded-For (API_NUM_PROXIES), not the proxy's.
    """
    return [
        pulumi.Output.secret(pulumi.Output.format("DJANGO_SECRET_KEY={0}", secret_key)),
        pulumi.Output.secret(pulumi.Output.format("DATABASE_URL={0}", database_url)),
        "DJANGO_DEBUG=false",
        f"DJANGO_ALLOWED_HOSTS={','.join(settings.allowed_hosts)}",
        f"DJANGO_CSRF_TRUSTED_ORIGINS={','.join(settings.csrf_trusted_origins)}",
        f"DJANGO_HTTPS={_flag(settings.serves_https)}",
        f"DJANGO_SECURE_PROXY_SSL_HEADER={_flag(settings.serves_https)}",
        pulumi.Output.format("GUNICORN_FORWARDED_ALLOW_IPS={0}", trusted_proxy_network),
        f"API_NUM_PROXIES={forwarding_proxies(settings)}",
        f"GUNICORN_WORKERS={settings.gunicorn_workers}",
        f"GUNICORN_THREADS={settings.gunicorn_threads}",
        f"GUNICORN_TIMEOUT={GUNICORN_TIMEOUT}",
        f"GUNICORN_GRACEFUL_TIMEOUT={GUNICORN_GRACEFUL_TIMEOUT}",
        f"DATABASE_CONNECT_TIMEOUT={DATABASE_CONNECT_TIMEOUT}",
        f"API_THROTTLE_ANON={settings.throttle_anon}",
        f"API_THROTTLE_USER={settings.throttle_user}",
        f"API_PUBLIC_ORIGIN={settings.public_origin}",
    ]
