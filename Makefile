# The two commands: `make demo` and `make test`. Everything they need is installed on demand.
SHELL := /bin/bash
VENV := .venv
TESTBED := testbed/bin/testbed
COLLECTION_LINK := .build/collections/ansible_collections/bookwyrm/s3
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Nothing phones home.
export DO_NOT_TRACK := 1
export ANSIBLE_GALAXY_DISABLE_GPG_VERIFY := 1

.PHONY: venv collection testbed testbed-down demo test unit sanity reliability build clean bench bench-scale publish matrix dockerless docs

venv:
	@bash -c 'source testbed/bin/lib.sh && ensure_venv'

# ansible finds this checkout as the collection bookwyrm.s3 through a symlink.
collection: venv
	@mkdir -p $(dir $(COLLECTION_LINK)) && ln -sfn $(CURDIR) $(COLLECTION_LINK)

testbed: venv
	@$(TESTBED) up

testbed-down:
	@$(TESTBED) down

demo: collection
	@bash testbed/bin/demo

# Two lanes side by side (testbed/bin/test says which and why). The bed without its default
# instance: every suite makes the instances it needs.
test: collection
	@$(TESTBED) up --no-instance
	@bash testbed/bin/test

# Faults, bad input and secrets against the real test bed (issue 5); writes docs/reliability.md.
reliability: collection testbed
	@$(VENV)/bin/pytest tests/reliability

unit: collection
	@$(VENV)/bin/pytest tests/unit

build: collection
	@mkdir -p .build && $(VENV)/bin/ansible-galaxy collection build --force --output-path .build .

clean: testbed-down
	rm -rf .build

sanity: collection
	@$(VENV)/bin/pytest tests/sanity

# Publishing checks on the built tarball (galaxy-importer, antsibull-docs/changelog lint,
# ansible-builder introspect, role README) and the ansible-core matrix; venvs cached in .build/.
publish: collection
	@$(VENV)/bin/pytest tests/publish

# The dockerless scenarios alone (systemd hosts over SSH; `make test` runs them too).
dockerless: collection testbed
	@$(VENV)/bin/pytest tests/molecule -k dockerless

# The docs site (antsibull-docs + Sphinx, warnings are errors) into .build/docs/html;
# tests/publish/test_docs.py opens it in headless Chromium.
docs: collection
	@$(VENV)/bin/python tools/docs_site.py

matrix: collection
	@BOOKWYRM_S3_MATRIX=1 $(VENV)/bin/pytest tests/publish/test_matrix.py

# Media sync against aws s3 sync, rclone, s3transfer's CRT transfer manager,
# community.aws.s3_sync and a boto3 loop, on loopback and through a 40 ms round-trip proxy,
# plus the 100k BookWyrm-layout tree (~45 min: the 10k rows run twice, interleaved, and keep
# each tool's fastest round). Not part of `make test`.
# BENCH_ARGS="--small 2000 --big 0 --rounds 1" for a quick run.
bench: collection testbed
	@bash bench/setup.sh
	@.build/bench-venv/bin/python bench/run.py $(BENCH_ARGS)

# The 100k and 1M trees (media_sync first copy, no-op, 0.1% new; aws s3 sync and rclone no-op
# against the bucket it filled), merged into docs/benchmarks.* (~45 min, ~5 GB of disk).
bench-scale: collection testbed
	@bash bench/setup.sh
	@.build/bench-venv/bin/python bench/run.py --only big --big 100000,1000000 --merge $(BENCH_ARGS)
