# livequery.h: tests, examples and the demo. The header needs none of this.
CC      ?= cc
CLANG   ?= clang
CXX     ?= g++
BUILD   ?= build
WARN    := -Wall -Wextra -pedantic -Wshadow -Wconversion -Wsign-conversion -Wstrict-prototypes \
           -Wmissing-prototypes -Wundef -Werror
CXXWARN := -Wall -Wextra -pedantic -Wshadow -Wconversion -Wsign-conversion -Wundef -Werror
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS_T = -std=c99 $(WARN) -g -O1 $(SAN) -I.
SERVER  := tests/server/lqserver.sh
STATE   ?= $(BUILD)/server

# The TLS backend of lqwatch and the examples: make TLS=mbedtls, TLS=openssl or TLS=none. The
# default is mbedTLS when its headers are installed (Debian: libmbedtls-dev), else OpenSSL when
# its are (libssl-dev), else none. A change of backend, or one installed after a first build,
# rebuilds what uses it ($(BUILD)/tls-backend records the choice).
HAVE_MBEDTLS := $(shell test -f /usr/include/mbedtls/ssl.h && echo 1)
HAVE_OPENSSL := $(shell test -f /usr/include/openssl/ssl.h && echo 1)
ifeq ($(origin TLS),undefined)
TLS := $(if $(HAVE_MBEDTLS),mbedtls,$(if $(HAVE_OPENSSL),openssl,none))
endif
ifeq ($(TLS),mbedtls)
TLS_CFLAGS := -DLQ_USE_MBEDTLS
TLS_LIBS   := -lmbedtls -lmbedx509 -lmbedcrypto
else ifeq ($(TLS),openssl)
TLS_CFLAGS := -DLQ_USE_OPENSSL
TLS_LIBS   := -lssl -lcrypto
else ifneq ($(TLS),none)
$(error TLS=$(TLS): use mbedtls, openssl or none)
endif
$(info livequery.h examples: TLS backend $(TLS)$(if $(filter none,$(TLS)), (wss:// needs TLS=mbedtls or TLS=openssl),))
TLS_STAMP := $(BUILD)/tls-backend

UNIT     := $(BUILD)/test_json $(BUILD)/test_ws $(BUILD)/test_core $(BUILD)/test_versions $(BUILD)/test_handles $(BUILD)/test_handles-plain \
            $(BUILD)/test_rest $(BUILD)/test_view $(BUILD)/test_order $(BUILD)/test_proxy
HOSTILE  := $(BUILD)/test_hostile $(BUILD)/test_alloc $(BUILD)/test_iofaults $(BUILD)/test_conformance
FUZZ_SECONDS ?= 60
EXAMPLES := $(BUILD)/lqwatch $(BUILD)/lqview $(BUILD)/live_list $(BUILD)/poll_loop $(BUILD)/select_loop $(BUILD)/game_loop $(BUILD)/custom_transport \
            $(BUILD)/core_loop
# The leaderboard window needs SDL2 and SDL2_ttf (Debian: libsdl2-dev libsdl2-ttf-dev): built when
# pkg-config finds them.
HAVE_SDL := $(shell pkg-config --exists sdl2 SDL2_ttf 2>/dev/null && echo 1)
SDL_CFLAGS = $(shell pkg-config --cflags sdl2 SDL2_ttf)
SDL_LIBS = $(shell pkg-config --libs sdl2 SDL2_ttf)
ifeq ($(HAVE_SDL),1)
EXAMPLES += $(BUILD)/leaderboard
endif
# The version, from the one place that has it.
VERSION := $(shell awk '/^.define LQ_VERSION_(MAJOR|MINOR|PATCH) /{v = v s $$3; s = "."} END{print v}' livequery.h)

.PHONY: server leaderboard leaderboard-test view-chaos order-live dns proxy versions faults all test unit hostile fuzz fuzz-short tools compile-check integration portability tls tls3 tls-openssl FORCE bench dropin install examples demo clean server-start server-stop

all: examples

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/test_%: tests/test_%.c livequery.h $(wildcard tests/*.h tests/conformance/*.h) | $(BUILD)
	$(CC) $(CFLAGS_T) $< -o $@

$(BUILD)/test_proxy: examples/cli.h

# The handle test without sanitizers too: glibc's allocator hands a freed client's memory straight
# to the next client, which ASan's does not (a destroyed client's handles must stay dead there).
$(BUILD)/test_handles-plain: tests/test_handles.c livequery.h tests/testutil.h | $(BUILD)
	$(CC) -std=c99 $(WARN) -g -O1 -I. $< -o $@

$(BUILD)/%: examples/%.c livequery.h | $(BUILD)
	$(CC) -std=c99 $(WARN) -O2 -g $< -o $@

# Rewritten only when the choice changes, so that what depends on it rebuilds then and only then.
$(TLS_STAMP): FORCE | $(BUILD)
	@echo "$(TLS) $(TLS_CFLAGS) $(TLS_LIBS)" | cmp -s - $@ || echo "$(TLS) $(TLS_CFLAGS) $(TLS_LIBS)" > $@

FORCE:

$(BUILD)/lqwatch: examples/lqwatch.c examples/cli.h livequery.h $(TLS_STAMP) | $(BUILD)
	$(CC) -std=c99 $(WARN) -O2 -g $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS)

# custom_transport: mbedTLS over the example's own sockets for wss://, when mbedTLS is there.
$(BUILD)/custom_transport: examples/custom_transport.c livequery.h $(TLS_STAMP) | $(BUILD)
	$(CC) -std=c99 $(WARN) -O2 -g $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS)

$(BUILD)/lqwatch-san: examples/lqwatch.c examples/cli.h livequery.h $(TLS_STAMP) | $(BUILD)
	$(CC) $(CFLAGS_T) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS)

$(BUILD)/lqview: examples/lqview.c examples/cli.h livequery.h $(TLS_STAMP) | $(BUILD)
	$(CC) -std=c99 $(WARN) -O2 -g $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS)

$(BUILD)/lqview-san: examples/lqview.c examples/cli.h livequery.h $(TLS_STAMP) | $(BUILD)
	$(CC) $(CFLAGS_T) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS)

ifeq ($(HAVE_SDL),1)
$(BUILD)/leaderboard: examples/leaderboard.c livequery.h $(TLS_STAMP) | $(BUILD)
	$(CC) -std=c99 $(WARN) -O2 -g $(TLS_CFLAGS) $(SDL_CFLAGS) $< -o $@ $(TLS_LIBS) $(SDL_LIBS)

$(BUILD)/leaderboard-check: tests/leaderboard/check.c | $(BUILD)
	$(CC) -std=c99 $(WARN) -O2 -g $(SDL_CFLAGS) $< -o $@ $(SDL_LIBS)
else
$(BUILD)/leaderboard $(BUILD)/leaderboard-check:
	@echo "the leaderboard needs SDL2 and SDL2_ttf: apt-get install libsdl2-dev libsdl2-ttf-dev" >&2; exit 1
endif

examples: $(EXAMPLES)
ifneq ($(HAVE_SDL),1)
	@echo "examples: leaderboard not built (it needs SDL2 and SDL2_ttf: apt-get install libsdl2-dev libsdl2-ttf-dev)"
endif

unit: $(UNIT)
	@set -e; for t in $(UNIT); do echo "== $$t"; ./$$t; done

$(BUILD)/test_conformance: tests/conformance/conformance.c livequery.h $(wildcard tests/*.h tests/conformance/*.h) $(TLS_STAMP) | $(BUILD)
	$(CC) $(CFLAGS_T) $(TLS_CFLAGS) $< -o $@ $(TLS_LIBS)

# Hostile peers: RFC 6455 and Autobahn-like cases over loopback, LiveQuery-level garbage,
# allocation failure at every N, I/O faults.
hostile: $(HOSTILE)
	@set -e; for t in $(HOSTILE); do echo "== $$t"; ./$$t; done

# libFuzzer targets (clang): make fuzz FUZZ_SECONDS=600; make test runs each for 10 s.
fuzz:
	BUILD=$(BUILD) CLANG=$(CLANG) bash fuzz/run.sh $(FUZZ_SECONDS)

fuzz-short:
	@BUILD=$(BUILD) CLANG=$(CLANG) bash fuzz/run.sh 10

# valgrind on the unit tests (no sanitizers), cppcheck and clang-tidy on the header.
tools:
	@CC=$(CC) bash tests/run-tools.sh $(BUILD)

# The compile matrix: every combination of LQ_NO_SOCKETS, LIVEQUERY_STATIC, LQ_USE_MBEDTLS and
# LQ_NO_SIMD, as C99 (gcc, clang) and C++ (g++ C++11, clang++ C++17), warnings as errors.
compile-check: | $(BUILD)
	@CC=$(CC) CLANG=$(CLANG) CXX=$(CXX) bash tests/run-compile.sh $(BUILD)

# A real Parse Server (npm, on a throwaway PostgreSQL cluster, 127.0.0.1 only).
# A Parse Server to develop against: started once, left running (make server-stop ends it). The
# tests use servers of their own and never touch it.
# It runs in a session of its own (setsid), so that a Ctrl-C of the command that started it (make
# leaderboard) does not end it.
SETSID := $(shell command -v setsid >/dev/null 2>&1 && echo setsid -w)
server:
	@bash $(SERVER) install >/dev/null
	@if bash $(SERVER) status $(abspath $(STATE)) >/dev/null 2>&1; then echo "already running:"; \
	 else LQSERVER_PORT=1337 $(SETSID) bash $(SERVER) start $(abspath $(STATE)) >/dev/null || exit 1; fi
	@bash tests/server/hello.sh $(abspath $(STATE))/env

server-start: server

server-stop:
	-@bash $(SERVER) stop $(abspath $(STATE)) && echo "stopped the server of $(abspath $(STATE))"

integration: $(BUILD)/lqwatch-san $(BUILD)/lqview-san $(BUILD)/test_live examples
	@bash tests/run-integration.sh $(abspath $(BUILD)/it-server) $(BUILD)

# 32-bit and big-endian under qemu-user, Windows under wine (each skipped when its toolchain is missing).
portability:
	@bash tests/run-portability.sh $(BUILD)

# wss:// (mbedTLS): openssl certificates, Node TLS fronts, a Parse Server of its own.
tls: $(BUILD)/lqwatch-san $(BUILD)/lqview-san
	@LQ_TLS_CFLAGS="$(TLS_CFLAGS)" LQ_TLS_LIBS="$(TLS_LIBS)" bash tests/tls/run.sh $(abspath $(BUILD)/tls-server) $(BUILD)

# HTTP proxies: tinyproxy instances of its own (credentials, refusals, an idle timeout), the
# proxy variables, wss:// inside the tunnel through a TLS front, a Parse Server of its own.
proxy: $(BUILD)/lqwatch-san $(BUILD)/lqview-san
	@LQ_TLS=$(TLS) bash tests/proxy/run.sh $(abspath $(BUILD)/proxy-server) $(BUILD)

# The same suite through the OpenSSL backend (its own build directory).
tls-openssl:
	@$(MAKE) -s --no-print-directory TLS=openssl BUILD=$(BUILD)/openssl tls

# The same against mbedTLS 3.x (MBEDTLS3=prefix, or Debian 13's packages fetched and unpacked into
# the build directory, nothing installed); SKIP when neither is possible.
tls3:
	@bash tests/tls/run-mbedtls3.sh $(abspath $(BUILD)/mbedtls3)

test: compile-check unit hostile fuzz-short tools examples dropin integration order-live view-chaos faults leaderboard-test dns proxy versions portability tls3
ifneq ($(TLS),none)
test: tls
endif
ifeq ($(HAVE_OPENSSL)$(TLS),1mbedtls)
test: tls-openssl
endif

# The built-in resolver and Happy Eyeballs against dnsmasq and a scripted nameserver (its faults)
# on loopback, then inside a user and network namespace with our own resolv.conf and hosts.
dns: $(BUILD)/test_dns
	bash tests/dns/run.sh $(BUILD)

# The same lqwatch, with no version flag, against Parse Server 6.0, 6.5, 7, 8 and 9.10 (each older
# one installed once into $(BUILD)/versions, or LQ_VERSIONS_CACHE).
versions: $(BUILD)/lqwatch-san
	@bash tests/versions/run.sh $(BUILD)

# The view's order against the real server: 129 orders of 64 objects of every column type.
order-live:
	bash tests/order/live.sh $(BUILD)/order-live

# lqview against a real Parse Server under racing writes, ACL flips, a server restart and a silent
# partition (a relay): the replayed lines give the list, which equals a fresh REST find.
view-chaos: $(BUILD)/lqview-san
	bash tests/view/run.sh $(abspath $(BUILD)/view-server) $(BUILD)

# lqwatch and lqview through a relay whose faults change while they run (a silent partition, 300 ms
# each way, a refused or unanswered connect, resets, the server killed), and a game loop's longest
# lq_step through all of it.
faults: $(BUILD)/lqwatch-san $(BUILD)/lqview-san $(BUILD)/step_probe-san
	bash tests/faults/run.sh $(abspath $(BUILD)/faults-server) $(BUILD)

$(BUILD)/step_probe-san: tests/faults/step_probe.c livequery.h | $(BUILD)
	$(CC) $(CFLAGS_T) $< -o $@

# examples/leaderboard.c under Xvfb: after each change its screenshot shows the rows of a fresh
# REST find, row by row (tests/leaderboard/check.c draws them independently). SKIP without SDL2,
# SDL2_ttf, Xvfb, xwd (x11-apps), ImageMagick or the DejaVu font.
leaderboard-test: $(if $(HAVE_SDL),$(BUILD)/leaderboard $(BUILD)/leaderboard-check)
	@bash tests/leaderboard/run.sh $(abspath $(BUILD)/leaderboard-server) $(BUILD)

# make install PREFIX=/usr/local: the header, lqwatch, a pkg-config file and a CMake package.
PREFIX ?= /usr/local
DESTDIR ?=
install: $(BUILD)/lqwatch
	@set -e; d="$(DESTDIR)$(PREFIX)"; \
	install -d "$$d/include" "$$d/bin" "$$d/lib/pkgconfig" "$$d/lib/cmake/livequery"; \
	install -m 644 livequery.h "$$d/include/livequery.h"; \
	install -m 755 $(BUILD)/lqwatch "$$d/bin/lqwatch"; \
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' 'tls_cflags=-DLQ_USE_MBEDTLS' \
	  'tls_libs=-lmbedtls -lmbedx509 -lmbedcrypto' '' 'Name: livequery' \
	  'Description: Parse LiveQuery client in one C header (define LIVEQUERY_IMPLEMENTATION in one file)' \
	  'Version: $(VERSION)' 'Cflags: -I$${includedir}' > "$$d/lib/pkgconfig/livequery.pc"; \
	printf '%s\n' '# find_package(livequery): livequery::livequery; livequery::livequery_mbedtls or _openssl for wss://' \
	  'get_filename_component(_lq_prefix "$${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)' \
	  'if(NOT TARGET livequery::livequery)' \
	  '  add_library(livequery::livequery INTERFACE IMPORTED)' \
	  '  set_target_properties(livequery::livequery PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "$${_lq_prefix}/include")' \
	  '  if(WIN32)' '    set_property(TARGET livequery::livequery PROPERTY INTERFACE_LINK_LIBRARIES ws2_32 bcrypt)' '  endif()' \
	  '  add_library(livequery::livequery_mbedtls INTERFACE IMPORTED)' \
	  '  set_target_properties(livequery::livequery_mbedtls PROPERTIES INTERFACE_COMPILE_DEFINITIONS LQ_USE_MBEDTLS' \
	  '    INTERFACE_LINK_LIBRARIES "livequery::livequery;mbedtls;mbedx509;mbedcrypto")' \
	  '  add_library(livequery::livequery_openssl INTERFACE IMPORTED)' \
	  '  set_target_properties(livequery::livequery_openssl PROPERTIES INTERFACE_COMPILE_DEFINITIONS LQ_USE_OPENSSL' \
	  '    INTERFACE_LINK_LIBRARIES "livequery::livequery;ssl;crypto")' \
	  'endif()' 'set(livequery_VERSION $(VERSION))' > "$$d/lib/cmake/livequery/livequery-config.cmake"; \
	printf '%s\n' 'set(PACKAGE_VERSION $(VERSION))' 'if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)' \
	  '  set(PACKAGE_VERSION_COMPATIBLE FALSE)' 'else()' '  set(PACKAGE_VERSION_COMPATIBLE TRUE)' 'endif()' \
	  > "$$d/lib/cmake/livequery/livequery-config-version.cmake"; \
	echo "installed livequery.h, lqwatch, livequery.pc and the CMake package under $$d"

# make install into a scratch prefix, then build with pkg-config, find_package and add_subdirectory;
# and every C snippet of the README.
dropin:
	@bash tests/run-dropin.sh $(BUILD)

# Benchmarks (bench/README.md): not part of make test; about 2 minutes, 127.0.0.1 only.
bench:
	bash bench/run.sh $(BUILD)/bench

# lqload uses a writer thread for its REST writes.
$(BUILD)/lqload: examples/lqload.c livequery.h | $(BUILD)
	$(CC) -std=c99 $(WARN) -O2 -g $< -o $@ -pthread

# Starts a local Parse Server, runs lqwatch while a script creates, updates and deletes objects.
demo: $(BUILD)/lqwatch
	@st=$(abspath $(BUILD)/demo-server); \
	bash $(SERVER) start $$st >/dev/null || exit 1; \
	trap 'bash $(SERVER) stop '$$st' >/dev/null 2>&1' EXIT INT TERM; \
	bash tests/server/demo.sh $$st $(abspath $(BUILD)/lqwatch)

# The leaderboard window against make server's Parse Server (started if it is not running, and left
# running: make server-stop), while tests/leaderboard/scores.js writes scores; closing the window
# or Ctrl-C ends both.
leaderboard: $(BUILD)/leaderboard server
	@bash tests/leaderboard/play.sh $(abspath $(STATE)) $(abspath $(BUILD)/leaderboard)

clean:
	-[ -d $(STATE) ] && bash $(SERVER) stop $(abspath $(STATE))
	-[ -d $(BUILD)/it-server ] && bash $(SERVER) stop $(abspath $(BUILD)/it-server)
	-[ -d $(BUILD)/tls-server ] && bash $(SERVER) stop $(abspath $(BUILD)/tls-server)
	-[ -d $(BUILD)/proxy-server ] && bash $(SERVER) stop $(abspath $(BUILD)/proxy-server)
	-[ -d $(BUILD)/faults-server ] && bash $(SERVER) stop $(abspath $(BUILD)/faults-server)
	rm -rf $(BUILD)
