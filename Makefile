# tpusim: a TPU-class inference accelerator in software.
#   make            build the library (build/libtpusim.a) and the CLI (build/tpusim)
#   make test       the whole suite; ends with "N passed, N failed[, N skipped]"
#   make demo       the main job on the bundled default model
#   make debug      -O0 -g build into build-debug/
#   make SANITIZE=address,undefined test    the suite under ASan + UBSan (CI does this)
#   make conformance   ONNX's own conformance tests on the reference executor
#   make fuzz       the libFuzzer target (clang), run for FUZZ_SECONDS

BUILD   ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g -fvect-cost-model=cheap
CFLAGS  += -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD)/gen \
           -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wno-unused-parameter -Wno-format-truncation \
           -Werror=implicit-function-declaration -fno-strict-aliasing
LDLIBS  += -lprotobuf-c -lopenblas -lm -lpthread
ifdef SANITIZE
BUILD   := build-san
CFLAGS  += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=$(SANITIZE)
endif
ifdef WERROR
CFLAGS  += -Werror
endif

DEPS_STAMP := $(BUILD)/.deps-ok
GEN_C   := $(BUILD)/gen/onnx.pb-c.c
GEN_H   := $(BUILD)/gen/onnx.pb-c.h
LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/gen/onnx.pb-c.o
TEST_SRC := $(sort $(wildcard tests/test-*.c))
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/%,$(TEST_SRC))

.PHONY: all test demo debug conformance fuzz clean deps
all: $(BUILD)/tpusim $(TEST_BIN)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	sh scripts/deps.sh
	@touch $@

$(GEN_C) $(GEN_H): | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -I/usr/include/onnx /usr/include/onnx/onnx.proto

$(BUILD)/obj/gen/onnx.pb-c.o: $(GEN_C)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -W%,$(CFLAGS)) -c $< -o $@

$(BUILD)/obj/%.o: src/%.c $(GEN_H) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libtpusim.a: $(filter-out $(BUILD)/obj/cli/%,$(LIB_OBJ))
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tpusim: $(filter $(BUILD)/obj/cli/%,$(LIB_OBJ)) $(BUILD)/libtpusim.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/test-%: tests/test-%.c $(wildcard tests/*.h) $(BUILD)/libtpusim.a
	$(CC) $(CFLAGS) -Itests $< $(BUILD)/libtpusim.a $(LDFLAGS) $(LDLIBS) -o $@

test: all
	@sh tests/run.sh $(BUILD)

conformance: all
	@sh tests/conformance.sh $(BUILD)

demo: all
	@sh scripts/demo.sh $(BUILD)

debug:
	$(MAKE) BUILD=build-debug CFLAGS="-O0 -g"

FUZZ_SECONDS ?= 60
fuzz: $(GEN_H)
	@mkdir -p build-fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD)/gen \
	    tests/fuzz/fuzz_load.c $(filter-out src/cli/%,$(LIB_SRC)) $(GEN_C) $(LDLIBS) -o build-fuzz/fuzz_load
	@mkdir -p build-fuzz/corpus
	build-fuzz/fuzz_load -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 build-fuzz/corpus tests/fuzz/corpus

clean:
	rm -rf build build-san build-debug build-fuzz

-include $(LIB_OBJ:.o=.d)

# --- Real models (tools/, bench/; owned by the models work) ---
#   make models     PyTorch exports + PaddleOCR/ORT test sets under $(BUILD)/
#   make bench      bench/ref_vs_ort.sh: resnet18 on the reference vs ONNX Runtime
.PHONY: models bench
models:
	/usr/bin/python3 tools/export_models.py $(BUILD)/models
	sh tools/make_ort_testset.sh $(BUILD)
bench: all
	BUILD=$(BUILD) TPUSIM=$(BUILD)/tpusim sh bench/ref_vs_ort.sh

# ---- Chip kernels (branch kernels): test-pe #includes the PE-by-PE model ----
$(BUILD)/test-pe: tests/pe_model.c tests/pe_model.h
