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

.PHONY: venv collection testbed testbed-down demo test unit sanity reliability build clean bench

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

test: collection testbed
	@$(VENV)/bin/pytest tests

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

# Media sync against aws s3 sync, rclone, community.aws.s3_sync and a boto3 loop (~15 min).
# Not part of `make test`. BENCH_ARGS="--small 2000 --big 0" for a quick run.
bench: collection testbed
	@bash bench/setup.sh
	@.build/bench-venv/bin/python bench/run.py $(BENCH_ARGS)
