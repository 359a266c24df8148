"""Helpers to drive the embedded lab (`ucterm.lab`) from the vos tests over real loopback sockets."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ucterm.credentials import CredentialStore
from ucterm.events import Event, TranscriptLine
from ucterm.inventory import Inventory, load_inventory
from ucterm.lab import CREDENTIALS, LabEstate
from ucterm.vos import NodeSession, NodeTarget
from ucterm.vos.shell import ShellOptions

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SECRETS = (CREDENTIALS.os_password, CREDENTIALS.app_password)


@dataclass
class Lab:
    estate: LabEstate
    inventory: Inventory
    folder: Path
    events: list[Event] = field(default_factory=list)

    @classmethod
    async def start(cls, folder: Path, profile: str = "fast") -> Lab:
        estate = LabEstate.demo(profile=profile, now=NOW)
        await estate.start()
        inventory = load_inventory(estate.write_inventory(folder / "inventory.toml"))
        return cls(estate, inventory, folder)

    def target(self, fqdn: str, **settings: Any) -> NodeTarget:
        for cluster, node in self.inventory.nodes():
            if node.fqdn == fqdn or node.hostname == fqdn:
                t = NodeTarget.from_inventory(cluster, node)
                return replace(t, settings=replace(t.settings, **settings)) if settings else t
        raise KeyError(fqdn)

    def session(self, fqdn: str, *, options: ShellOptions | None = None, **settings: Any) -> NodeSession:
        t = self.target(fqdn, **settings)
        opts = options or ShellOptions(banner_timeout=10.0, command_timeout=10.0, nudge_after=1.0)
        return NodeSession(t, CredentialStore(), self.events.append, shell_options=opts)

    def transcript(self) -> list[TranscriptLine]:
        return [e for e in self.events if isinstance(e, TranscriptLine)]

    def assert_no_secrets(self) -> None:
        """No event (transcript or notice) holds a lab password or a private key."""
        for event in self.events:
            text = repr(event.to_dict())
            for secret in SECRETS:
                assert secret not in text, event
            assert "PRIVATE KEY-----" not in text, event
