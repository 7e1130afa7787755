# openjpki — a thin front over CMake.  `make run` and `make test` are the
# README's two commands: both install missing Debian packages first.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_TSAN ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: all build deps run walkthrough demo test test-unit test-clock-ahead test-asan test-tsan fuzz bench install clean format format-check

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The main job: jpkid on 127.0.0.1:8080 with SQLite and file keys under
# var/ca (CA and first operator created on first start).  Ctrl-C stops it.
run: build
	@mkdir -p var
	$(BUILD)/cmd/jpkid --dir var/ca --listen 127.0.0.1:8080

walkthrough: build
	@bash scripts/walkthrough.sh $(BUILD)/cmd/jpki var/walkthrough

demo: build
	@JPKI_DEMO_NONINTERACTIVE=1 bash scripts/walkthrough.sh $(BUILD)/cmd/jpki var/demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The whole suite again with the clock 400 days ahead (libfaketime, the
# monotonic clock left alone): a test that hides a date that will expire
# fails here before it fails on main.  CI runs it after `make test`.
FAKETIME_LIB ?= $(firstword $(wildcard /usr/lib/*/faketime/libfaketimeMT.so.1))
CLOCK_AHEAD ?= +400d
test-clock-ahead: build
	@test -n "$(FAKETIME_LIB)" || { echo "libfaketime missing: make deps"; exit 1; }
	@echo "clock ahead: FAKETIME=$(CLOCK_AHEAD) (today is $$(LD_PRELOAD=$(FAKETIME_LIB) FAKETIME=$(CLOCK_AHEAD) date -u +%F) for the suite)"
	cd $(BUILD) && LD_PRELOAD=$(FAKETIME_LIB) FAKETIME=$(CLOCK_AHEAD) FAKETIME_DONT_FAKE_MONOTONIC=1 \
		ctest --output-on-failure -j $(JOBS) -LE no-clock-ahead $(CTEST_ARGS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit $(CTEST_ARGS)

# Unit tests and fuzz-corpus replays under ASan + UBSan (CI runs this too).
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DJPKI_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -L unit $(CTEST_ARGS)

# ThreadSanitizer: the unit tests and the jpkid integration tests (jpkid's
# workers, refresher and HTTP threads; a report makes stop_jpkid fail).
# jpkid_overload is left out: its load under TSan's 5-15x slowdown proves
# nothing the others do not.  jpkid_ocsp_resign too: it runs jpkid under
# libfaketime, whose pthread_cond_timedwait wrapper calls the real one past
# TSan's interceptor, so TSan sees a waiting thread keep its mutex and
# reports double locks and races that are not there.
test-tsan: deps
	cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=Debug -DJPKI_TSAN=ON
	cmake --build $(BUILD_TSAN) -j $(JOBS)
	cd $(BUILD_TSAN) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		ctest --output-on-failure -j $(JOBS) -L unit $(CTEST_ARGS)
	cd $(BUILD_TSAN) && ctest --output-on-failure -j $(JOBS) \
		-R 'integration/(jpkid_|rp_login|rp_basic4|signer)' \
		-E 'jpkid_overload|jpkid_ocsp_resign' $(CTEST_ARGS)

fuzz: deps
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DJPKI_FUZZ=ON -DJPKI_SANITIZE=ON
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	@echo "fuzzers are in $(BUILD_FUZZ)/tests; run one at a time, e.g."
	@echo "  mkdir -p /tmp/new && $(BUILD_FUZZ)/tests/fuzz_http -max_total_time=120 /tmp/new tests/fuzz/corpus/fuzz_http"

# jpki, jpkid, libopenjpki.a with its headers and openjpki.pc, the data
# folder (the J-LIS roots), the OpenSSL provider, jpkid.service with
# jpkid.conf and the man pages under PREFIX (default /usr/local), staged
# under DESTDIR when given (docs/deploy.md):
#   make install PREFIX=/usr DESTDIR=/tmp/stage
# Both are read at install time, not when the build was configured: the
# programs find their data next to their bin/, and the files that name
# paths are written for PREFIX then (dist/install.cmake).
PREFIX  ?= /usr/local
DESTDIR ?=
install: deps $(BUILD)/CMakeCache.txt
	@case "$(PREFIX)" in /*) ;; *) echo "make install: PREFIX must be an absolute path, not '$(PREFIX)'" >&2; exit 2;; esac
	cmake --build $(BUILD) -j $(JOBS) --target jpki jpkid openjpki openjpki-provider jpki_man
	DESTDIR="$(if $(DESTDIR),$(abspath $(DESTDIR)))" cmake --install $(BUILD) --prefix "$(PREFIX)"

bench: build
	@bash bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# CI: every C file as clang-format (.clang-format) writes it
format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_TSAN)
