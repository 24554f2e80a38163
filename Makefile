# formkit developer commands. `make demo` and `make test` do all set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck venv templates samples look bench docs clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/demo.py

lint: $(STAMP)
	$(BIN)/ruff check src tests tools $(wildcard benchmarks)

typecheck: $(STAMP)
	$(BIN)/mypy src tests/typing_client.py

# pytest runs on two workers (pytest-xdist; tests sharing an expensive fixture stay on one, see
# tests/conftest.py) in a random order (pytest-randomly; the summary prints the seed that repeats it).
# Minutes-long proofs are left out; run them with $(BIN)/pytest -m heavy
test: lint typecheck
	$(BIN)/pytest -q -n 2 --dist loadgroup

templates: $(STAMP)
	$(BIN)/python tools/build_templates.py

samples: $(STAMP)
	$(BIN)/python tools/make_samples.py

docs: $(STAMP)
	$(BIN)/python tools/gen_docs.py

look: $(STAMP)
	$(BIN)/python tools/look.py
	$(BIN)/python tools/look_web.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_batch.py
	$(BIN)/python benchmarks/bench_ledger.py

clean:
	rm -rf $(VENV) out build dist .pytest_cache .mypy_cache .ruff_cache
