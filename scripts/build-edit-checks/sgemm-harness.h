// What scripts/build-edit-checks/products.cpp and benches/kernels.cpp need to call llamafile's
// sgemm.cpp outside ggml: the parts of ggml it calls (its thread pool's barrier and job counter,
// the f16 table, logging), the declaration of the shipped llamafile_sgemm (compiled as
// llamafile_sgemm_ref beside the edited one), `product`, which runs a product on threads as
// ggml does, and `random_q8_0`.
#pragma once
#include "ggml.h"
#include "ggml-cpu-impl.h"
#include "ggml-quants.h"
#include "llamafile/sgemm.h"

#include <immintrin.h>

#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

extern "C" bool llamafile_sgemm_ref(const struct ggml_compute_params * params, int64_t m, int64_t n, int64_t k, const void * A,
                         int64_t lda, const void * B, int64_t ldb, void * C, int64_t ldc, int Atype, int Btype,
                         int Ctype);

// What sgemm.cpp needs from the rest of ggml: tinyBLAS's f16 path hands out its jobs through the
// thread pool's counter, behind a barrier.
static std::atomic<int> chunk{0};
static std::atomic<int> arrived{0};
static std::atomic<int> rounds{0};
static int threads_now = 1;
extern "C" {
float ggml_table_f32_f16[1 << 16];
void ggml_barrier(struct ggml_threadpool *) {
    const int round = rounds.load();
    if (arrived.fetch_add(1) + 1 == threads_now) {
        arrived.store(0);
        rounds.fetch_add(1);
    } else {
        while (rounds.load() == round) {
            std::this_thread::yield();
        }
    }
}
void ggml_threadpool_chunk_set(struct ggml_threadpool *, int value) { chunk.store(value); }
int ggml_threadpool_chunk_add(struct ggml_threadpool *, int value) { return chunk.fetch_add(value); }
void ggml_log_internal(enum ggml_log_level, const char * format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
}
void quantize_row_q8_K_ref(const float *, block_q8_K *, int64_t) {  // quants.c's q8_K paths; not used here
    abort();
}
void ggml_abort(const char * file, int line, const char * fmt, ...) {
    fprintf(stderr, "ggml_abort at %s:%d: %s\n", file, line, fmt);
    abort();
}
}

namespace {

using Sgemm = bool (*)(const ggml_compute_params *, int64_t, int64_t, int64_t, const void *, int64_t, const void *,
                       int64_t, void *, int64_t, int, int, int);

// Runs `f` on `nth` threads as ggml does: every thread calls it with its own ith. `k` counts
// elements of `type` (blocks for q8_0). Returns false when `f` declined the product (then ggml
// would compute it with its own kernels).
bool product(Sgemm f, int nth, int type, int64_t m, int64_t n, int64_t k, const void * A, const void * B, float * C,
             int btype = -1, int64_t lda = 0) {
    btype = btype < 0 ? type : btype;
    lda = lda ? lda : k;
    threads_now = nth;
    std::atomic<int> declined{0};
    std::vector<std::thread> threads;
    for (int ith = 0; ith < nth; ++ith) {
        threads.emplace_back([=, &declined] {
            ggml_compute_params params = {ith, nth, 0, nullptr, nullptr};
            declined += !f(&params, m, n, k, A, lda, B, k, C, m, type, btype, GGML_TYPE_F32);
        });
    }
    for (auto & t : threads) {
        t.join();
    }
    if (declined != 0 && declined != nth) {
        fprintf(stderr, "llamafile_sgemm declined a product of type %d on some threads only\n", type);
        abort();
    }
    return declined == 0;
}

// Fills A and B with random q8_0 blocks: with `values` 0, as ggml's quantiser writes them
// (-127..127, scales of attention-sized products); with 1, the whole int8 range and wider scales.
void random_q8_0(std::mt19937 & rng, int values, std::vector<block_q8_0> & A, std::vector<block_q8_0> & B) {
    std::uniform_int_distribution<int> q(values ? -128 : -127, 127);
    std::normal_distribution<float> scale(0.0f, values ? 4.0f : 0.02f);
    for (auto * v : {&A, &B}) {
        for (auto & b : *v) {
            for (auto & x : b.qs) {
                x = (int8_t) q(rng);
            }
            b.d = _cvtss_sh(scale(rng), 0);
        }
    }
}

}  // namespace
