# Two entry points that work on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv samples bench notebook clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cxid resolve \
	  --source web=data/samples/web.jsonl \
	  --source beacon=data/samples/beacon.csv \
	  --source twitter=data/samples/twitter.jsonl \
	  --source email=data/samples/support.mbox \
	  --source esp=data/samples/esp_audience.csv \
	  --source crm=data/samples/crm.csv \
	  --out out/demo
	@echo "--- accuracy on all records"
	$(BIN)/cxid evaluate --truth data/samples/truth.csv --pred out/demo/identities.parquet
	@echo "--- accuracy on records the truth marks linkable"
	$(BIN)/cxid evaluate --truth data/samples/truth.csv --pred out/demo --linkable-only

lint: $(STAMP)
	$(BIN)/ruff check src tests bench notebooks

test: $(STAMP)
	$(BIN)/ruff check src tests bench notebooks
	$(BIN)/python -m pytest

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# cxid vs Splink 5 on a generated population; numbers go to bench/RESULTS.md by hand
bench: $(BENCH_STAMP)
	$(BIN)/python bench/bench_vs_splink.py --persons $(or $(PERSONS),20000) --repeat $(or $(REPEAT),3)

notebook: $(STAMP)
	$(BIN)/python notebooks/make_quickstart.py

samples: $(STAMP)
	$(BIN)/cxid synth --persons 300 --seed 7 --out data/samples

clean:
	rm -rf $(VENV) out .pytest_cache
