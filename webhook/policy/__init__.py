"""The policy-as-code document: its schema, typed model, strict loader and hot-reloading store."""
