# Gatehouse. `make run` and `make test` install whatever is missing first.
SHELL := /bin/bash
GOPATH_BIN := $(shell go env GOPATH 2>/dev/null || echo $(HOME)/go)/bin
export PATH := $(GOPATH_BIN):/usr/local/go/bin:$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Debian versions must start with a digit: 0.1.0+git<commits>.<hash>
PKG_VERSION := 0.1.0+git$(shell git rev-list --count HEAD 2>/dev/null || echo 0).$(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
NFPM := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
LDFLAGS := -X main.version=$(VERSION)
# Two builds of one program: gatehouse, every command without the window's
# libraries (it starts in milliseconds; the window command hands over to
# the other), and gatehouse-window, the same program with the window
# (WebKitGTK). See "How it is built" in the README.
BIN := build/bin/gatehouse
WINDOW_BIN := build/bin/gatehouse-window
DATA ?=
GO_SOURCES := $(shell find . -name '*.go' -not -path './frontend/*') go.mod go.sum
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) frontend/index.html frontend/package-lock.json frontend/vite.config.ts

.PHONY: run test build package deps frontend test-go test-frontend test-e2e test-desktop bench soak cluster clean

## run: install what is missing, build, and start Gatehouse (the window where a display exists, else the LAN server)
run: build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		exec $(BIN) $(if $(DATA),--data $(DATA)); \
	else \
		echo "No display: starting the LAN server only."; \
		exec $(BIN) serve $(if $(DATA),--data $(DATA)); \
	fi

## test: install what is missing, then every test
test: deps frontend test-go test-frontend build test-e2e test-desktop

deps: .deps-ok
.deps-ok: scripts/install-deps.sh scripts/apt-install-missing.sh frontend/package-lock.json
	./scripts/install-deps.sh
	@touch $@

frontend: frontend/dist/index.html
frontend/dist/index.html: .deps-ok $(FRONTEND_SOURCES)
	cd frontend && npm run build

## build: build/bin/gatehouse and, beside it, build/bin/gatehouse-window (the desktop window)
build: $(BIN) $(WINDOW_BIN)
$(BIN): .deps-ok frontend/dist/index.html $(GO_SOURCES)
	CGO_ENABLED=0 go build -tags nowindow -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN) .
$(WINDOW_BIN): .deps-ok frontend/dist/index.html $(GO_SOURCES)
	wails build -s -skipbindings -tags webkit2_41 -ldflags "$(LDFLAGS)" -o gatehouse-window

test-go: .deps-ok frontend/dist/index.html
	go vet ./...
	go test -count=1 ./...
	# The core's scenarios again on the etcd engine (a three-member cluster in the test process);
	# the two-node and fault tests start clusters of their own and ran above.
	GATEHOUSE_TEST_ENGINE=etcd go test -count=1 -skip 'TestClusterFaults|OverTwoNodes|TwoNodes' ./internal/core/
	# The README's benchmarks must keep working: run the quick ones once (no timings asserted).
	go test -count=1 -run '^$$' -bench 'ListUsers|AuditConcurrentWrites' -benchtime 1x ./internal/core/
	GATEHOUSE_LOAD_SECONDS=1 go test -count=1 -run '^$$' -bench LANLoad -benchtime 1x .
	GATEHOUSE_CLUSTER_EVENTS=2000 GATEHOUSE_CLUSTER_USERS=300 go test -count=1 -run '^$$' -bench Cluster -benchtime 1x ./internal/core/
	# The office benchmarks share one small data folder (10,000 events).
	d=$$(mktemp -d) && export GATEHOUSE_OFFICE_DB=$$d GATEHOUSE_OFFICE_EVENTS=10000 && \
		go test -count=1 -run '^$$' -bench AuditOffice -benchtime 1x ./internal/core/ && \
		go test -count=1 -run '^$$' -bench OfficeHTTP -benchtime 1x . ; rc=$$?; rm -rf "$$d"; exit $$rc

test-frontend: .deps-ok
	cd frontend && npx svelte-check --tsconfig ./tsconfig.app.json --fail-on-warnings
	cd frontend && npx vitest run

test-e2e: $(BIN)
	cd frontend && npx playwright test

test-desktop: $(BIN) $(WINDOW_BIN)
	./scripts/desktop-smoke.sh $(BIN)

## package: the Windows program and NSIS installer, and the Linux binary and .deb, then checks
## them (gatehouse.exe runs under Wine); installs what that needs (scripts/install-package-deps.sh)
package: .deps-ok frontend/dist/index.html
	./scripts/install-package-deps.sh
	rm -f $(BIN) $(WINDOW_BIN) build/bin/gatehouse.exe build/bin/*installer*.exe
	CGO_ENABLED=0 go build -tags nowindow -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN) .
	wails build -s -skipbindings -tags webkit2_41 -ldflags "$(LDFLAGS)" -o gatehouse-window
	wails build -s -skipbindings -platform windows/amd64 -nsis -ldflags "$(LDFLAGS)" -o gatehouse.exe
	mkdir -p build/packages && rm -f build/packages/*.deb
	GATEHOUSE_PKG_VERSION=$(PKG_VERSION) go run $(NFPM) package --config build/linux/nfpm.yaml --packager deb --target build/packages/
	./scripts/check-packages.sh $(VERSION)

## bench: the benchmarks quoted in the README (the first run builds a 1M-event database)
bench: .deps-ok frontend/dist/index.html
	go test -run '^$$' -bench ListUsers -benchmem ./internal/core/
	go test -run '^$$' -bench AuditConcurrentWrites -benchtime 5000x ./internal/core/
	go test -run '^$$' -bench 'Audit1M|AuditVerify1M' -benchtime 200x -timeout 60m ./internal/core/
	go test -run '^$$' -bench AuditOffice -benchtime 200x -timeout 60m ./internal/core/
	go test -run '^$$' -bench OfficeHTTP -benchtime 500x -timeout 60m .
	go test -run '^$$' -bench Cluster -benchtime 300x -timeout 30m ./internal/core/

## soak: the crash-safety suite with 2,000 kills instead of 200
soak: .deps-ok frontend/dist/index.html
	GATEHOUSE_CRASH_RUNS=2000 go test -count=1 -run TestCrashSafety -v -timeout 60m ./internal/core/

## cluster: three etcd members and two Gatehouse nodes on loopback, their URLs printed; Ctrl-C stops them all
cluster: $(BIN)
	./scripts/cluster.sh $(BIN)

clean:
	rm -rf build/bin build/packages build/wine-check frontend/dist .deps-ok
