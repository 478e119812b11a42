// Compares llamafile_sgemm as ggml ships it (compiled as llamafile_sgemm_ref) with the same file
// after .cargo/ggml-cpu-edits.cmake (llamafile_sgemm) on q8_0 × q8_0 products: every output must
// be the same 32 bits. Built and run by scripts/check-build-edits.sh; exits 1 on any difference.
#include "ggml.h"
#include "ggml-cpu-impl.h"
#include "ggml-quants.h"
#include "llamafile/sgemm.h"

#include <immintrin.h>

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

// What sgemm.cpp needs from the rest of ggml. The q8_0 path uses none of the thread pool.
extern "C" {
float ggml_table_f32_f16[1 << 16];
void ggml_barrier(struct ggml_threadpool *) {}
void ggml_threadpool_chunk_set(struct ggml_threadpool *, int) {}
int ggml_threadpool_chunk_add(struct ggml_threadpool *, int) { return 1 << 30; }
void ggml_log_internal(enum ggml_log_level, const char * format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
}
void ggml_abort(const char * file, int line, const char * fmt, ...) {
    fprintf(stderr, "ggml_abort at %s:%d: %s\n", file, line, fmt);
    abort();
}
}

namespace {

using Sgemm = bool (*)(const ggml_compute_params *, int64_t, int64_t, int64_t, const void *, int64_t, const void *,
                       int64_t, void *, int64_t, int, int, int);

// Runs `f` on `nth` threads as ggml does: every thread calls it with its own ith.
void product(Sgemm f, int nth, int64_t m, int64_t n, int64_t k, const block_q8_0 * A, const block_q8_0 * B, float * C) {
    std::vector<std::thread> threads;
    for (int ith = 0; ith < nth; ++ith) {
        threads.emplace_back([=] {
            ggml_compute_params params = {ith, nth, 0, nullptr, nullptr};
            if (!f(&params, m, n, k, A, k, B, k, C, m, GGML_TYPE_Q8_0, GGML_TYPE_Q8_0, GGML_TYPE_F32)) {
                fprintf(stderr, "llamafile_sgemm declined a q8_0 product\n");
                abort();
            }
        });
    }
    for (auto & t : threads) {
        t.join();
    }
}

}  // namespace

int main() {
    for (int i = 0; i < (1 << 16); ++i) {
        ggml_table_f32_f16[i] = _cvtsh_ss((unsigned short) i);
    }
    std::mt19937 rng(20261205);
    // Whisper's shapes (rows 384/512/1536/2048, rows of 12/16/48/64 blocks) and odd ones: a
    // row count that is not a multiple of 8 (tinyBLAS on both sides), a column count that is
    // not a multiple of the job width, one or two columns.
    const int64_t shapes[][3] = {{512, 1100, 16}, {2048, 300, 16}, {512, 301, 64}, {1536, 77, 12},
                                 {384, 129, 48},  {8, 2, 1},       {16, 65, 3},   {12, 40, 2}};
    size_t outputs = 0;
    size_t differ = 0;
    for (const auto & shape : shapes) {
        for (int values = 0; values < 2; ++values) {
            for (int nth = 1; nth <= 3; ++nth) {
                const int64_t m = shape[0], n = shape[1], k = shape[2];
                // q8_0 as ggml's quantiser writes it (-127..127), and the whole int8 range.
                std::uniform_int_distribution<int> q(values ? -128 : -127, 127);
                std::normal_distribution<float> scale(0.0f, values ? 4.0f : 0.02f);
                std::vector<block_q8_0> A(m * k), B(n * k);
                for (auto * v : {&A, &B}) {
                    for (auto & b : *v) {
                        for (auto & x : b.qs) {
                            x = (int8_t) q(rng);
                        }
                        b.d = _cvtss_sh(scale(rng), 0);
                    }
                }
                if (values) {  // infinite, NaN and subnormal scales
                    A[0].d = 0x7c00;
                    B[B.size() - 1].d = 0xfc00;
                    A[A.size() / 2].d = 0x7e00;
                    B[0].d = 0x0001;
                }
                std::vector<float> want(m * n, 1.0f), got(m * n, 2.0f);
                product(llamafile_sgemm_ref, nth, m, n, k, A.data(), B.data(), want.data());
                product(llamafile_sgemm, nth, m, n, k, A.data(), B.data(), got.data());
                size_t here = 0;
                for (size_t i = 0; i < want.size(); ++i) {
                    here += memcmp(&want[i], &got[i], sizeof(float)) != 0;
                }
                if (here) {
                    fprintf(stderr, "m=%lld n=%lld k=%lld values=%d threads=%d: %zu of %zu outputs differ\n",
                            (long long) m, (long long) n, (long long) k, values, nth, here, want.size());
                }
                outputs += want.size();
                differ += here;
            }
        }
    }
    printf("q8_0 products: %zu outputs compared with ggml's own, %zu differ\n", outputs, differ);
    return differ ? 1 : 0;
}
