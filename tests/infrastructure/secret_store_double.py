"""An in-memory ``lakehouse.platform.secret_store.SecretStore`` for tests (no cluster)."""

from __future__ import annotations

from collections.abc import Mapping


class MemorySecretStore:
    """Secrets in a dict; records every write as ``(name, created | patched)``."""

    def __init__(self, initial: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.secrets: dict[str, dict[str, str]] = {k: dict(v) for k, v in (initial or {}).items()}
        self.labels: dict[str, dict[str, str]] = {}
        self.writes: list[tuple[str, str]] = []

    def read(self, name: str) -> dict[str, str] | None:
        return dict(self.secrets[name]) if name in self.secrets else None

    def write(self, name: str, data: Mapping[str, str], labels: Mapping[str, str]) -> None:
        # Like a Kubernetes patch: keys and labels are merged into an existing Secret.
        self.writes.append((name, "patched" if name in self.secrets else "created"))
        self.secrets[name] = {**self.secrets.get(name, {}), **data}
        self.labels[name] = {**self.labels.get(name, {}), **labels}

    def describe(self, name: str) -> str:
        return f"secret {name}"
