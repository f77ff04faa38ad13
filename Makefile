# Every target creates the virtual environment on first use, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test fuzz bench lint wheel-check kafka-start kafka-stop clean cluster-up cluster-down cluster-status \
	drill drill-short

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/taskstream serve

test: $(STAMP)
	$(BIN)/python -m pytest

# `make test` runs the schemathesis fuzz bounded for CI (tests/fuzz: seed 1, 15 examples per operation); this runs
# it wider: FUZZ_EXAMPLES per operation and phase (100), FUZZ_SEED (a random one).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} FUZZ_SEED=$${FUZZ_SEED:-$$RANDOM} $(BIN)/python -m pytest tests/fuzz -s -q

bench: $(STAMP)
	$(BIN)/python -m tests.bench

capacity: $(STAMP) ; $(BIN)/python deploy/capacity/measure.py && $(BIN)/python deploy/capacity/simulate.py

# mypy and import-linter read the packages as they install, `taskstream.*`: a tree of links under .venv/lint
# gives them that layout over the working folders (the editable install's import hook is invisible to them).
LINT_TREE := $(VENV)/lint
$(LINT_TREE)/taskstream: $(STAMP)
	mkdir -p $@
	for f in api commands projections schemas; do ln -sfn "$(CURDIR)/$$f" $@/$$f; done

lint: $(STAMP) $(LINT_TREE)/taskstream
	$(BIN)/ruff check .
	MYPYPATH=$(LINT_TREE) $(BIN)/mypy -p taskstream.commands -p taskstream.schemas -p taskstream.projections
	PYTHONPATH=$(LINT_TREE) $(BIN)/lint-imports

# The wheel as a user installs it: built, installed into a bare virtual environment, `--help`, and a short serve.
wheel-check: $(STAMP)
	$(BIN)/python -m tests.packaging.wheel_check

kafka-start:
	bash deploy/kafka/kafka.sh start

kafka-stop:
	bash deploy/kafka/kafka.sh stop

# A local cluster without Docker (deploy/cluster, deploy/README.md): PostgreSQL, Kafka, CLUSTER_REPLICAS API replicas
# behind HAProxy, two relays, the audit subscriber; state and logs in CLUSTER_STATE_DIR. `make drill` runs the failure
# drill against it (starting it if needed); `make drill-short` (CI) runs a shorter one on a cluster of its own.
CLUSTER_REPLICAS ?= 2
CLUSTER_STATE_DIR ?= .cluster
CLUSTER_BASE_PORT ?= 18000
CLUSTER := $(BIN)/python -m deploy.cluster --state-dir $(CLUSTER_STATE_DIR) --replicas $(CLUSTER_REPLICAS) \
	--base-port $(CLUSTER_BASE_PORT)

cluster-up: $(STAMP)
	$(CLUSTER) up

cluster-down: $(STAMP)
	$(CLUSTER) down

cluster-status: $(STAMP)
	$(CLUSTER) status

drill: $(STAMP)
	$(BIN)/python -m deploy.cluster.drill --state-dir $(CLUSTER_STATE_DIR) --replicas $(CLUSTER_REPLICAS) \
		--base-port $(CLUSTER_BASE_PORT)

drill-short: $(STAMP)
	$(BIN)/python -m deploy.cluster.drill --short --replicas $(CLUSTER_REPLICAS) --base-port $$(( $(CLUSTER_BASE_PORT) + 100 ))

clean:
	rm -rf $(VENV) .taskstream .pytest_cache .cluster
