# Set-up and everyday targets. `make serve` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv serve test lint typecheck certs bench faults e2e clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

certs: $(STAMP)
	$(BIN)/netpol-guard certs --out certs

# The main job: the webhook on https://127.0.0.1:8443 with dev certs and the default policy.
serve: $(STAMP)
	@test -f certs/tls.crt || $(BIN)/netpol-guard certs --out certs
	$(BIN)/netpol-guard serve --bind 127.0.0.1:8443 --cert certs/tls.crt --key certs/tls.key

# The whole test suite, with lint and type checks first.
test: $(STAMP)
	$(BIN)/ruff check webhook tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run

# The end-to-end tier alone, with the full counts (kube binaries: NETPOL_GUARD_KUBE_BINARIES,
# default ../shared/kube; see docs/testing.md).
e2e: $(STAMP)
	NETPOL_GUARD_E2E_FULL=1 $(BIN)/pytest -q -m e2e tests/e2e

faults: $(STAMP)
	$(BIN)/pytest -q -s tests/reliability

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
