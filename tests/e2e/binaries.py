"""Where the end-to-end tier finds kube-apiserver, kubectl and etcd, unpacked once into a cache.

One environment variable, ``NETPOL_GUARD_KUBE_BINARIES``, names a directory holding
``kube-apiserver.xz``, ``kubectl.xz`` and ``etcd.xz`` (or the unpacked binaries). Default:
``../shared/kube`` beside the checkout, when it exists. The ``.xz`` files are unpacked once into
``$XDG_CACHE_HOME/netpol-guard/kube-v1.36.2`` (default ``~/.cache``) and checked against the
sha256 of the shared README's table; a binary with another digest is refused, never run.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

ENV = "NETPOL_GUARD_KUBE_BINARIES"
VERSION = "v1.36.2"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO.parent / "shared" / "kube"

# The unpacked binaries' sha256 (the shared folder's README table).
SHA256 = {
    "kube-apiserver": "259152cdcfb52579864a143b6c1f9fc66b1f99f3464a87ea6a4b7e13859ae5a0",
    "kubectl": "c048ac7f8527b07b3ce3e0c5646fadd26eb82099ac5a8d845b546a48bd12947c",
    "etcd": "f34fd75f12cdb79cb9cfa751083fd9d68d540dac126c2e6b89094e5bd10a7ea8",
}


@dataclass(frozen=True)
class KubeBinaries:
    kube_apiserver: Path
    kubectl: Path
    etcd: Path


class BinariesMissing(Exception):
    """The binaries are not there (the tier skips with this message)."""


def source_dir() -> Path:
    given = os.environ.get(ENV)
    return Path(given) if given else DEFAULT_DIR


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "netpol-guard" / f"kube-{VERSION}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unpack(name: str, source: Path, cache: Path) -> Path:
    target = cache / name
    if target.exists() and _sha256(target) == SHA256[name]:
        return target
    plain, packed = source / name, source / f"{name}.xz"
    partial = cache / f".{name}.{os.getpid()}.partial"
    if packed.exists():
        with lzma.open(packed) as reader, open(partial, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    elif plain.exists():
        shutil.copyfile(plain, partial)
    else:
        raise BinariesMissing(f"{packed} not found")
    digest = _sha256(partial)
    if digest != SHA256[name]:
        partial.unlink()
        raise RuntimeError(f"{name} from {source} has sha256 {digest}, expected {SHA256[name]}")
    partial.chmod(0o755)
    os.replace(partial, target)  # atomic: parallel sessions never see half a binary
    return target


def find_binaries() -> KubeBinaries:
    """The three binaries, unpacked and verified; BinariesMissing when the source is absent."""
    source = source_dir()
    if not source.is_dir():
        raise BinariesMissing(f"no kube binaries: {source} does not exist (set {ENV})")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    return KubeBinaries(*(_unpack(name, source, cache)
                          for name in ("kube-apiserver", "kubectl", "etcd")))
