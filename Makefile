# Parley: build, run and test everything from the repository root.
#
#   make tools   build the pinned servers bin/keto and bin/versitygw (once; again only when their
#                pinned module versions change)
#   make build   build every command of the workspace into bin/
#   make web     build the browser client into web/dist (npm ci from web/package-lock.json once)
#   make dev     tools + build + web, then run the local platform (EDGES=N for N socket-edges);
#                the gateway serves the web client at http://127.0.0.1:8080/
#   make test    tools + build + web + deploy-check, then every test of every workspace module and
#                the web client's unit and browser tests (make web-test runs only those)
#   make deploy-check  helm lint --strict, helm template (default + production values), kubeconform
#                -strict against deploy/schemas (offline), YAML and Terraform checks
#   make lint    gofmt check + go vet, over the workspace and then each module with GOWORK=off
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

NPM ?= npm
# What the web build depends on: a change to any of these rebuilds web/dist.
WEB_SOURCES = $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts \
	web/tsconfig.json web/package.json web/package-lock.json

.PHONY: all tools deploy-tools build web web-test dev test deploy-check lint clean distclean

all: build

# A tool is rebuilt when its module's go.mod/go.sum (or its -ldflags, the third argument) change:
# the stamp holds their hash. A binary without a stamp (built before stamps existed) is adopted
# rather than rebuilt: keto takes minutes.
define build_tool
	@mkdir -p $(BIN); \
	sum=$$( { cat infra/tools/$(1)/go.mod infra/tools/$(1)/go.sum; [ -z '$(3)' ] || echo '$(3)'; } | sha256sum | cut -c1-16); \
	stamp=$(BIN)/.$(1).stamp; \
	if [ -x $(BIN)/$(1) ] && [ ! -f $$stamp ]; then echo $$sum > $$stamp; fi; \
	if [ -x $(BIN)/$(1) ] && [ "$$(cat $$stamp)" = "$$sum" ]; then \
		echo "tools: $(BIN)/$(1) is up to date"; \
	else \
		echo "tools: building $(BIN)/$(1) from infra/tools/$(1) (pinned module; takes a few minutes once)"; \
		(cd infra/tools/$(1) && GOWORK=off $(GO) build -ldflags '$(3)' -o ../../../$(BIN)/$(1) $(2)) && echo $$sum > $$stamp; \
	fi
endef

tools:
	$(call build_tool,keto,github.com/ory/keto)
	$(call build_tool,versitygw,github.com/versity/versitygw/cmd/versitygw)

# helm believes Kubernetes is v1.20 unless the release ldflags say otherwise, and then refuses the
# chart's kubeVersion (>=1.28): build it as a 1.33 client, as release binaries are.
HELM_LDFLAGS := -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=33 \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=33

deploy-tools:
	$(call build_tool,helm,helm.sh/helm/v3/cmd/helm,$(HELM_LDFLAGS))
	$(call build_tool,kubeconform,github.com/yannh/kubeconform/cmd/kubeconform)

# The chart as a cluster would get it, validated offline; then the Go checks of deploy/ (published
# YAML, Terraform) and of the kn commands in docs/deploy.md.
deploy-check: deploy-tools
	@BIN=$(BIN) GO=$(GO) deploy/check.sh

build:
	@mkdir -p $(BIN)
	@pkgs=""; for d in $(CMD_DIRS); do [ -d $$d ] && pkgs="$$pkgs ./$$d/..."; done; \
	echo "build:$$pkgs -> $(BIN)/"; \
	$(GO) build -o $(BIN)/ $$pkgs

# The web client's pinned dependencies: npm ci from the committed lockfile (npm registry only, no
# install scripts: nothing downloads a browser), again only when the lockfile changes.
web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && $(NPM) run --silent build

web: web/dist/index.html

# Unit tests (vitest), then the browser tests: playwright-core driving Debian's chromium (installed
# by the script when missing) against a private platform (bin/parley-platform on free ports).
web-test: web build
	./web/scripts/ensure-chromium.sh
	@cd web && rm -f .results-*.json; status=0; \
	$(NPM) run --silent test:unit -- --reporter=default --reporter=json --outputFile.json=.results-unit.json || status=1; \
	$(NPM) run --silent test:browser -- --reporter=default --reporter=json --outputFile.json=.results-browser.json || status=1; \
	node scripts/summary.mjs .results-unit.json .results-browser.json || status=1; \
	exit $$status

dev: tools build web
	./$(BIN)/parley-platform

# The end-to-end suite runs after the other Go tests, alone: its fault scenarios must carry a
# measured message rate, which other packages' builds and tests beside it would take away.
E2E_PATTERN = $(CURDIR)/e2e/...

# Every Go test, then the web client's; any failing fails the target (all always run).
test: tools build web deploy-check
	@status=0; \
	$(GO) test -tags "$(TEST_TAGS)" $(TEST_FLAGS) $(filter-out $(E2E_PATTERN),$(MODULE_PATTERNS)) || status=1; \
	$(GO) test -tags "$(TEST_TAGS)" $(TEST_FLAGS) $(E2E_PATTERN) || status=1; \
	$(MAKE) --no-print-directory web-test || status=1; \
	exit $$status

# go vet over the workspace, then over each module alone (GOWORK=off): its go.mod, not go.work,
# must allow what it imports, so each go.mod is the truth about a module's dependencies.
lint:
	@unformatted=$$(gofmt -l $$($(GO) list -m -f '{{.Dir}}')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet -tags "$(TEST_TAGS)" $(MODULE_PATTERNS)
	@for d in $$($(GO) list -m -f '{{.Dir}}'); do \
		echo "vet (GOWORK=off): $${d#$(CURDIR)/}"; \
		(cd $$d && GOWORK=off $(GO) vet -tags "$(TEST_TAGS)" ./...) || exit 1; \
	done

clean:
	@find $(BIN) -maxdepth 1 -type f ! -name keto ! -name versitygw ! -name helm ! -name kubeconform \
		! -name '.*.stamp' -delete 2>/dev/null || true
	rm -rf .data web/dist web/.results-*.json

distclean: clean
	rm -rf $(BIN) web/node_modules
