.PHONY: run test bench lint

run:   ## Install, build and start the whole platform locally (Ctrl-C stops it).
	./scripts/run

test:  ## Install what the tests need and run the whole suite.
	./scripts/test

bench: ## Benchmarks; figures go to docs/benchmarks.md.
	./scripts/bench

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
