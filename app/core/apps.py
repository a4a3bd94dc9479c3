from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every request and process of the service relies on: probes, error
    answers, request limits, logging, settings readers and replica draining."""

    name = "core"
    verbose_name = "Service core"
