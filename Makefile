# Thin wrappers over CMake + Ninja (DESIGN.md §6). `make test` and `make demo` install what they
# need themselves (scripts/deps.sh) so they work on a fresh Debian 12 machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all build deps npm test test-fast test-asan demo bench fuzz clean format

all: build

deps:
	@bash scripts/deps.sh

npm: deps
	@bash scripts/npm.sh

$(BUILD)/build.ninja: CMakeLists.txt
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@mkdir -p bin && ln -sf ../$(BUILD)/bin/nebula bin/nebula

# Unit, fuzz-corpus replay, end-to-end and integration tests, then the same suite under ASan+UBSan.
test: build npm
	@bash scripts/run-tests.sh $(BUILD)
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNB_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@bash scripts/run-tests.sh $(ASAN_BUILD)

# The suite once, without the sanitizer build (for iterating).
test-fast: build npm
	@bash scripts/run-tests.sh $(BUILD)

demo: build
	@bash examples/demo.sh

bench: build npm
	@bash bench/run.sh

fuzz: deps
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DNB_FUZZ=ON -DNB_SANITIZE=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@bash scripts/fuzz.sh build-fuzz

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz bin
