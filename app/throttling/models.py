from django.db import models


class ThrottleWindow(models.Model):
    """Requests of one client in one fixed time window (see throttling.throttles)."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField(help_text="Unix time at which the window starts")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="throttle_window_unique")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start}: {self.hits}"
