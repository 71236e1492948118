# Every target sets itself up on a fresh machine: a virtualenv, the CPU build of torch, the project.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DEMO_DIR ?= data/demo
# torch is installed on its own first so pip never resolves the multi-GB CUDA build. A local wheel
# folder is used when the machine has one; elsewhere set TORCH_INDEX to PyTorch's CPU wheel index.
TORCH_FIND_LINKS ?= $(wildcard /opt/wheels)
TORCH_INDEX ?=
TORCH_FLAGS := $(if $(TORCH_FIND_LINKS),--find-links $(TORCH_FIND_LINKS)) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX) --extra-index-url https://pypi.org/simple)

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH_FLAGS) "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/newsbot ingest --data-dir $(DEMO_DIR) examples/news
	$(BIN)/newsbot ask --data-dir $(DEMO_DIR) "who warned ships?"

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check bot index tests bench

bench: setup
	$(BIN)/python bench/ingest_and_query.py --articles ../shared/eval/reqa-squad/articles.jsonl

clean:
	rm -rf $(VENV) $(DEMO_DIR)
