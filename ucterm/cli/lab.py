"""`ucterm lab [--profile fast|demo|realistic] [--write-inventory FILE]`: the lab in the foreground.

Prints where every node listens (stdout, so it can be piped), optionally writes an inventory
for it, and runs until Ctrl+C or SIGTERM, then closes every socket and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from ucterm import catalog
from ucterm.errors import UctermError
from ucterm.lab.estate import LabEstate


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(serve(args.profile, args.write_inventory))
    except KeyboardInterrupt:  # platforms without loop signal handlers
        return 0


def listing(estate: LabEstate, inventory: Path | None) -> str:
    """Where each node listens, one line per node, grouped by cluster."""
    creds = estate.credentials
    lines = [f"ucterm lab: {len(estate.nodes)} nodes on 127.0.0.1 (profile {estate.profile.name})", ""]
    for cluster in estate.clusters:
        lines.append(f"{cluster.name}  {catalog.PRODUCT_NAMES[cluster.product]} {cluster.version}")
        width = max(len(n.fqdn) for n in cluster.nodes)
        for node in cluster.nodes:
            ports = "  ".join(f"{name} 127.0.0.1:{node.ports[name]}" for name in node.port_names if name != "rest")
            lines.append(f"  {node.fqdn:<{width}}  {node.role:<10}  {ports}")
        lines.append("")
    lines.append(f"OS administrator {creds.os_user} / {creds.os_password}; "
                 f"application user {creds.app_user} / {creds.app_password} (fixed lab credentials)")
    if estate.web_enrollment.port is not None:
        from ucterm.lab import adcs

        lines.append(f"corp CA (AD CS web enrollment, NTLM): {estate.web_enrollment.url} as "
                     f"{adcs.DOMAIN}\\{adcs.USER} / {adcs.PASSWORD} (signer {estate.SIGNER} in the inventory)")
    if inventory is not None:
        lines.append(f"inventory: {inventory} (known_hosts and lab-ca.pem beside it)")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


async def serve(profile: str, inventory: Path | None) -> int:
    """Run the demo estate until SIGINT/SIGTERM; 0 on a clean stop, the error's exit code otherwise."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        estate = LabEstate.demo(profile=profile)
        async with estate:
            if inventory is not None:
                estate.write_inventory(inventory)
            print(listing(estate, inventory), flush=True)
            await stop.wait()
    except UctermError as exc:
        print(f"ucterm lab: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"ucterm lab: {exc.strerror or exc}{where}; check the path and try again.", file=sys.stderr)
        return 2
    print("ucterm lab: stopped.", file=sys.stderr)
    return 0
