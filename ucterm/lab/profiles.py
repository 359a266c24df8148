"""How slow the lab is: `fast` for tests, `demo` for a newcomer, `realistic` for benchmarks.

Real VOS is slow in characteristic places: the CLI takes seconds (up to a minute) to start,
commands take a fraction of a second, and a Cisco Tomcat restart takes minutes (Unity
Connection's even longer; §1.9 [VERIFIED: C-netSSL uses a 600 s timeout]). A client that copes
with `realistic` copes with a real node; `demo` keeps the same shape at a watchable pace.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    #: Between `Command Line Interface is starting up` and `Welcome to ...`.
    banner_delay: float
    #: Per-command latency range (seconds) before output starts.
    command_delay: tuple[float, float]
    #: Default duration of a service restart (stop + start).
    restart_default: float
    #: Cisco Tomcat's restart duration on CUCM / IM&P.
    restart_tomcat: float
    #: Cisco Tomcat's restart duration on Unity Connection (slower still).
    restart_tomcat_cuc: float
    #: How long after `[STARTING]` a service whose restart never prints `[STARTED]` is really up.
    started_lag: float
    #: From re-enabling IM&P HA to `State: Normal`.
    ha_settle: float
    #: Seconds between repeated `[STOPPING]` / `[STARTING]` lines (0: print them back to back).
    status_interval: float

    def restart_duration(self, product: str, service: str) -> float:
        if service == "Cisco Tomcat":
            return self.restart_tomcat_cuc if product == "cuc" else self.restart_tomcat
        return self.restart_default

    def command_latency(self, rng: random.Random) -> float:
        low, high = self.command_delay
        return low if high <= low else rng.uniform(low, high)


PROFILES: dict[str, Profile] = {
    "fast": Profile("fast", banner_delay=0.0, command_delay=(0.0, 0.0), restart_default=0.0,
                    restart_tomcat=0.0, restart_tomcat_cuc=0.0, started_lag=0.2, ha_settle=0.2,
                    status_interval=0.0),
    "demo": Profile("demo", banner_delay=0.5, command_delay=(0.0, 0.05), restart_default=1.0,
                    restart_tomcat=3.0, restart_tomcat_cuc=5.0, started_lag=2.0, ha_settle=3.0,
                    status_interval=0.5),
    "realistic": Profile("realistic", banner_delay=4.0, command_delay=(0.1, 0.5), restart_default=8.0,
                         restart_tomcat=45.0, restart_tomcat_cuc=120.0, started_lag=20.0, ha_settle=30.0,
                         status_interval=3.0),
}


def get_profile(profile: str | Profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f'unknown lab profile "{profile}"; use one of {", ".join(PROFILES)}') from None
