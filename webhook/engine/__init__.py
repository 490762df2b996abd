"""The pure engine: normalisation, the NetworkPolicy rules and namespace compliance (no I/O)."""
