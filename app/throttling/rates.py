"""Request rates as DRF writes them: "N/second", "N/minute", "N/hour", "N/day"
(only the unit's first letter counts, as in DRF), or "off".

One parser for the start-up check (config/settings.py) and the throttles, so
that a rate the settings accept is a rate the throttles can use. It imports
no models: the settings module loads it before Django is set up.
"""

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
OFF = ("", "off", "none")


def parse_rate(rate: str) -> tuple[int, int] | None:
    """'100/minute' -> (100, 60); 'off' -> None; ValueError for anything else."""
    if rate.strip().lower() in OFF:
        return None
    count, _, period = rate.strip().partition("/")
    if not (count.isascii() and count.isdigit()) or period[:1] not in PERIOD_SECONDS:
        raise ValueError(f"{rate!r} is not a rate: use N/second, N/minute, N/hour, N/day or off")
    return int(count), PERIOD_SECONDS[period[0]]
