# ward — top-level commands. The build itself is meson + ninja; this file only
# names the common tasks. See README.md.

BUILD      ?= build
TEST_BUILD ?= build-test
REL_BUILD  ?= build-release
FUZZ_BUILD ?= build-fuzz

.PHONY: all build web run test bench fuzz fmt fmt-check deps clean

all: build

build: web $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

# The dashboard's npm packages (uPlot; playwright-core for the browser test),
# exactly as web/package-lock.json pins them. Compiled into ward-server.
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

deps:
	scripts/deps.sh build

run: deps build
	scripts/run.sh $(BUILD)

test:
	scripts/deps.sh test
	$(MAKE) web
	scripts/test.sh $(TEST_BUILD)

bench:
	scripts/deps.sh test
	$(MAKE) web
	@[ -f $(REL_BUILD)/build.ninja ] || meson setup $(REL_BUILD) --buildtype=release -Dtests=enabled
	ninja -C $(REL_BUILD)
	scripts/bench.sh $(REL_BUILD)

fuzz:
	scripts/deps.sh fuzz
	$(MAKE) web
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
	ninja -C $(FUZZ_BUILD)
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fmt:
	scripts/check-format.sh --fix

fmt-check:
	scripts/check-format.sh

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(REL_BUILD) $(FUZZ_BUILD)
