# Parley: build, run and test everything from the repository root.
#
#   make tools   build the pinned servers bin/keto and bin/versitygw (once; again only when their
#                pinned module versions change)
#   make build   build every command of the workspace into bin/
#   make dev     tools + build, then run the local platform (EDGES=N for N socket-edges)
#   make test    tools + build, then every test of every workspace module
#   make lint    gofmt check + go vet
#   make clean   remove what build and dev produced (keeps the slow-to-build tools)
#   make distclean  clean + the tools

SHELL := /bin/bash
GO    ?= go
BIN   := bin

# Command directories built into bin/ when they exist (other modules may add theirs later).
CMD_DIRS := infra/cmd functions/cmd socket-edge/cmd load/cmd
# Every module of the workspace, as package patterns (go list -m in workspace mode).
MODULE_PATTERNS = $(shell $(GO) list -m -f '{{.Dir}}/...')
TEST_TAGS  ?= e2e
TEST_FLAGS ?= -count=1 -timeout 20m
EDGES ?= 1
export EDGES

.PHONY: all tools build dev test lint clean distclean

all: build

# A tool is rebuilt when its module's go.mod/go.sum change: the stamp holds their hash. A binary
# without a stamp (built before stamps existed) is adopted rather than rebuilt: keto takes minutes.
define build_tool
	@mkdir -p $(BIN); \
	sum=$$(cat infra/tools/$(1)/go.mod infra/tools/$(1)/go.sum | sha256sum | cut -c1-16); \
	stamp=$(BIN)/.$(1).stamp; \
	if [ -x $(BIN)/$(1) ] && [ ! -f $$stamp ]; then echo $$sum > $$stamp; fi; \
	if [ -x $(BIN)/$(1) ] && [ "$$(cat $$stamp)" = "$$sum" ]; then \
		echo "tools: $(BIN)/$(1) is up to date"; \
	else \
		echo "tools: building $(BIN)/$(1) from infra/tools/$(1) (pinned module; takes a few minutes once)"; \
		(cd infra/tools/$(1) && GOWORK=off $(GO) build -o ../../../$(BIN)/$(1) $(2)) && echo $$sum > $$stamp; \
	fi
endef

tools:
	$(call build_tool,keto,github.com/ory/keto)
	$(call build_tool,versitygw,github.com/versity/versitygw/cmd/versitygw)

build:
	@mkdir -p $(BIN)
	@pkgs=""; for d in $(CMD_DIRS); do [ -d $$d ] && pkgs="$$pkgs ./$$d/..."; done; \
	echo "build:$$pkgs -> $(BIN)/"; \
	$(GO) build -o $(BIN)/ $$pkgs

dev: tools build
	./$(BIN)/parley-platform

test: tools build
	$(GO) test -tags "$(TEST_TAGS)" $(TEST_FLAGS) $(MODULE_PATTERNS)

lint:
	@unformatted=$$(gofmt -l $$($(GO) list -m -f '{{.Dir}}')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet -tags "$(TEST_TAGS)" $(MODULE_PATTERNS)

clean:
	@find $(BIN) -maxdepth 1 -type f ! -name keto ! -name versitygw ! -name '.*.stamp' -delete 2>/dev/null || true
	rm -rf .data

distclean: clean
	rm -rf $(BIN)
