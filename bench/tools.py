"""Command-line tools the benchmark needs, installed from Debian packages when missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def ensure_command(command: str, package: str | None = None) -> str:
    """The path of ``command``; ``apt-get install``s ``package`` (default: same name) first
    when it is missing."""
    found = shutil.which(command)
    if found:
        return found
    package = package or command
    apt = shutil.which("apt-get")
    if apt is None:
        raise RuntimeError(f"{command} is not installed and apt-get is not available; "
                           f"install {package}")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print(f"installing {command} (apt-get install {package}) ...", file=sys.stderr)
    subprocess.run([*sudo, apt, "update", "-qq"], check=True)
    subprocess.run([*sudo, apt, "install", "-y", "-qq", package], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which(command)
    if not found:
        raise RuntimeError(f"apt-get install {package} did not provide {command}")
    return found
