# Build rkt, stage1-fly.aci and the test images.
#
#   ./autogen.sh && ./configure --with-stage1-flavors=fly && make
#
# Everything goes to build-rkt-$(PACKAGE_VERSION)/:
#   bin/rkt, bin/rkt-full,
#   bin/stage1-fly.aci            the product
#   target/bin -> ../bin          rkt's own layout
#   images/*.aci                  test images (busybox, inspect, example, true, etcd)
#   tools/                        build helpers (acibuild, actool)
#   work/                         scratch trees the ACIs are built from
#
# The Go targets always run `go build`, whose cache makes a rebuild cheap, so
# that no Go source dependency list has to be kept here.

-include config.mk

ifeq ($(PACKAGE_VERSION),)
ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
$(error config.mk not found: run ./autogen.sh && ./configure --with-stage1-flavors=fly first)
endif
endif

TOPDIR := $(CURDIR)
BUILDDIR := $(TOPDIR)/build-rkt-$(PACKAGE_VERSION)
BINDIR := $(BUILDDIR)/bin
IMAGESDIR := $(BUILDDIR)/images
TOOLSDIR := $(BUILDDIR)/tools
WORKDIR := $(BUILDDIR)/work

# Scripts and tests find the toolchain and the build tree through these
# (internal/testbuild reads RKT_BUILD_BIN).
export PATH := $(dir $(GO)):/usr/local/go/bin:$(PATH)
export GOTOOLCHAIN := local
export RKT_BUILD_DIR := $(BUILDDIR)
export RKT_BUILD_BIN := $(BINDIR)
export RKT_VERSION
export ACIBUILD := $(TOOLSDIR)/acibuild
export ACTOOL := $(TOOLSDIR)/actool

BUILDINFO := github.com/rktfly/rkt/stage0/internal/buildinfo
RKT_LDFLAGS := \
	-X '$(BUILDINFO).Version=$(RKT_VERSION)' \
	-X '$(BUILDINFO).Stage1DefaultName=$(RKT_STAGE1_DEFAULT_NAME)' \
	-X '$(BUILDINFO).Stage1DefaultVersion=$(RKT_STAGE1_DEFAULT_VERSION)' \
	-X '$(BUILDINFO).Stage1DefaultLocation=$(RKT_STAGE1_DEFAULT_LOCATION)' \
	-X '$(BUILDINFO).Stage1DefaultFilename=$(RKT_STAGE1_DEFAULT_FILENAME)' \
	-X '$(BUILDINFO).Stage1DefaultImagesDir=$(RKT_STAGE1_DEFAULT_IMAGES_DIR)' \
	-X '$(BUILDINFO).Features=$(RKT_FEATURES)' \
	-X '$(BUILDINFO).AppcVersion=$(APPC_VERSION)'

# rkt is built with the rktlean tag: it links no HTTP, TLS or OpenPGP code
# and hands the commands that need them to rkt-full, the same main package
# built without the tag, which it looks for next to itself and then at
# RKT_FULL_PATH.
RKT_LEAN_TAGS := rktlean
RKT_LEAN_LDFLAGS := $(RKT_LDFLAGS) -X 'main.fullBinaryPath=$(RKT_FULL_PATH)'

# Extra flags for `go test` in `make check`, for example GOTESTFLAGS=-run=TestFoo.
GOTESTFLAGS ?=
GOTEST_TIMEOUT ?= 45m

comma := ,
STAGE1_ACIS := $(foreach flavor,$(subst $(comma), ,$(RKT_STAGE1_FLAVORS)),$(BINDIR)/stage1-$(flavor).aci)

.PHONY: all rkt rkt-full stage1 images tools target-link check vet test run-example bench clean distclean FORCE

all: stage1 images rkt rkt-full target-link

tools: $(TOOLSDIR)/acibuild $(TOOLSDIR)/actool

$(TOOLSDIR)/acibuild: FORCE
	@mkdir -p $(TOOLSDIR)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./scripts/acibuild

$(TOOLSDIR)/actool: FORCE
	@mkdir -p $(TOOLSDIR)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ github.com/appc/spec/actool

# rkt and rkt-full are built once stage0/rkt has Go files, so that the rest
# of the tree can be built while stage0 is being written.
rkt: FORCE
	@mkdir -p $(BINDIR)
	@if ls stage0/rkt/*.go >/dev/null 2>&1; then \
		echo "CGO_ENABLED=0 $(GO) build -trimpath -tags $(RKT_LEAN_TAGS) -ldflags \"$(RKT_LEAN_LDFLAGS)\" -o $(BINDIR)/rkt ./stage0/rkt"; \
		CGO_ENABLED=0 $(GO) build -trimpath -tags $(RKT_LEAN_TAGS) -ldflags "$(RKT_LEAN_LDFLAGS)" -o $(BINDIR)/rkt ./stage0/rkt; \
	else \
		echo "make: stage0/rkt has no Go files yet: skipping $(BINDIR)/rkt" >&2; \
	fi

rkt-full: FORCE
	@mkdir -p $(BINDIR)
	@if ls stage0/rkt/*.go >/dev/null 2>&1; then \
		echo "CGO_ENABLED=0 $(GO) build -trimpath -ldflags \"$(RKT_LDFLAGS)\" -o $(BINDIR)/rkt-full ./stage0/rkt"; \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(RKT_LDFLAGS)" -o $(BINDIR)/rkt-full ./stage0/rkt; \
	else \
		echo "make: stage0/rkt has no Go files yet: skipping $(BINDIR)/rkt-full" >&2; \
	fi

stage1: $(STAGE1_ACIS)

$(BINDIR)/stage1-fly.aci: $(TOOLSDIR)/acibuild FORCE
	@mkdir -p $(BINDIR)
	scripts/build-stage1 $@ $(WORKDIR)/stage1-fly

images: $(TOOLSDIR)/acibuild
	scripts/build-images $(IMAGESDIR) $(WORKDIR)/images

target-link:
	@mkdir -p $(BUILDDIR)/target
	@ln -sfn ../bin $(BUILDDIR)/target/bin

# check is what scripts/test runs after building: go vet, then go test with
# CI semantics (privileged tests fail instead of skipping unless CI is set
# to something other than "true").
check: vet test

# go vet and go test cover rkt-full's code by default. The files of the
# rktlean build are vetted and tested with the tag in addition.
vet:
	$(GO) vet ./...
	$(GO) vet -tags $(RKT_LEAN_TAGS) ./stage0/rkt/

test: tools
	CI=$${CI:-true} $(GO) test -count=1 -timeout $(GOTEST_TIMEOUT) $(GOTESTFLAGS) ./...
	CI=$${CI:-true} $(GO) test -count=1 -tags $(RKT_LEAN_TAGS) $(GOTESTFLAGS) ./stage0/rkt/

# Run the README's example image as root in a private mount namespace.
run-example: all
	scripts/run-example $(BINDIR)/rkt $(IMAGESDIR)/example.aci $(BUILDDIR)

# Measure warm runs, imports, list/gc and fetch against their baselines;
# the figures go to $(BUILDDIR)/bench/results.md (run as root).
bench: all
	scripts/bench --build-dir $(BUILDDIR)

clean:
	@for dir in build-rkt-*/; do \
		test -d "$$dir" || continue; \
		scripts/remove-tree "$$dir" || exit 1; \
	done

distclean: clean
	rm -rf autom4te.cache config.log config.status config.mk configure

FORCE:
include release.mk
