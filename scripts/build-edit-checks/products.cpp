// Holds llamafile_sgemm as ggml ships it (compiled as llamafile_sgemm_ref) and the same file after
// .cargo/ggml-cpu-edits.cmake (llamafile_sgemm) to the same standard, on the two products the
// edits replace, each against its exact value (in double):
// - q8_0 × q8_0 (edit 6): every finite output within the textbook error bound of a float sum of
//   k blocks, (k + 4) · 2⁻²⁴ · Σ |d_a · d_b| · Σ |a · b|. The exact product is formed as both
//   kernels form a block's integer sum (vpsignb, vpmaddubsw with its int16 saturation), so -128
//   values check as well.
// - f16 × f16 (edit 10): every finite output within (k + 4) · 2⁻²⁴ · Σ |a · b|.
// Every non-finite output must be non-finite in the other kernel too. And f16 × f32, which
// tinyBLAS declines on AVX2 (ggml then rounds B to f16 and asks for f16 × f16): the edited
// kernel's f16 × f32 product must be its f16 × f16 product of B rounded to nearest, bit for bit.
// - f16 × f16 of one column (edit 11), which ggml does row by row with ggml_vec_dot_f16
//   (compiled here from ggml's own vec.cpp): every output must be that function's bit for bit.
// - q8_0 × q8_0 of one column (edit 12), which ggml does row by row with
//   ggml_vec_dot_q8_0_q8_0 (compiled here from ggml's own arch/x86/quants.c): the same.
// Built and run by scripts/check-build-edits.sh; exits 1 on any output out of bounds or any
// f16 × f32 or one-column bit that differs.
#include "sgemm-harness.h"

extern "C" void ggml_vec_dot_f16(int n, float * s, size_t bs, ggml_fp16_t * x, size_t bx, ggml_fp16_t * y, size_t by, int nrc);
extern "C" void ggml_vec_dot_q8_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy,
                                       size_t by, int nrc);

namespace {

// A block's integer dot product as vpsignb and vpmaddubsw form it: |a| as an unsigned byte times
// b with a's sign (which wraps when b is -128), adjacent pairs added with int16 saturation; and
// the sum of the products' magnitudes, for the error bound. Without a -128 in b, neither the
// wrap nor the saturation can happen (|pair| ≤ 2 · 128 · 127), and the loop is a plain one.
void block_dot(const block_q8_0 & a, const block_q8_0 & b, double & dot, double & magnitude) {
    bool plain = true;
    for (const int8_t y : b.qs) {
        plain &= y != -128;
    }
    int sum = 0, size = 0;
    if (plain) {
        for (int t = 0; t < 32; ++t) {
            const int p = a.qs[t] * b.qs[t];
            sum += p;
            size += std::abs(p);
        }
    } else {
        for (int t = 0; t < 32; t += 2) {
            int pair = 0;
            for (int u = t; u < t + 2; ++u) {
                const int x = a.qs[u] == -128 ? 128 : std::abs(a.qs[u]);
                const int y = a.qs[u] < 0 ? (int8_t) -b.qs[u] : a.qs[u] == 0 ? 0 : b.qs[u];
                pair += x * y;
                size += std::abs(x * y);
            }
            sum += std::min(32767, std::max(-32768, pair));
        }
    }
    dot = sum;
    magnitude = size;
}

// Outputs judged so far, those out of bounds, and the largest error as a fraction of its bound
// for ggml's kernel and the edited one.
struct Tally {
    size_t outputs = 0;
    size_t out_of_bounds = 0;
    size_t f32_outputs = 0;
    size_t f32_differing = 0;
    double worst[2] = {0, 0};

    // One output of ggml's kernel and of the edited one against the exact value and the bound.
    // Returns whether both pass.
    bool judge(float shipped, float edited, double exact, double bound) {
        ++outputs;
        bool ok = true;
        if (!std::isfinite(shipped) || !std::isfinite(edited)) {
            ok = !std::isfinite(shipped) && !std::isfinite(edited);
        } else {
            const float both[2] = {shipped, edited};
            for (int which = 0; which < 2; ++which) {
                const double error = std::fabs((double) both[which] - exact);
                ok = ok && error <= bound;
                if (bound > 0) {
                    worst[which] = std::max(worst[which], error / bound);
                }
            }
        }
        out_of_bounds += !ok;
        return ok;
    }

    void report(const char * what) const {
        printf("%s: %zu outputs of ggml's kernel and the edited one, %zu out of bounds; largest error %.3g of its "
               "bound for ggml's, %.3g for the edited\n",
               what, outputs, out_of_bounds, worst[0], worst[1]);
        if (f32_outputs) {
            printf("%s with an f32 B: %zu outputs, %zu not bit for bit the f16 × f16 product of B rounded to f16\n",
                   what, f32_outputs, f32_differing);
        }
    }

    // Every output of an m × n product (column j at j·m) with k terms each: `exact(i, j, sum,
    // magnitudes)` gives output (i, j)'s exact value and the sum of its terms' magnitudes, from
    // which the bound is (k + 4) · 2⁻²⁴ · magnitudes. Says on stderr how many were out of bounds.
    template <typename Exact>
    void judge_product(const std::vector<float> & shipped, const std::vector<float> & edited, int64_t m, int64_t n,
                       int64_t k, int values, int nth, Exact exact) {
        size_t here = 0;
        for (int64_t j = 0; j < n; ++j) {
            for (int64_t i = 0; i < m; ++i) {
                double sum = 0, magnitudes = 0;
                exact(i, j, sum, magnitudes);
                const double bound = (double) (k + 4) * std::ldexp(1.0, -24) * magnitudes;
                here += !judge(shipped[j * m + i], edited[j * m + i], sum, bound);
            }
        }
        if (here) {
            fprintf(stderr, "m=%lld n=%lld k=%lld values=%d threads=%d: %zu of %zu outputs out of bounds\n",
                    (long long) m, (long long) n, (long long) k, values, nth, here, shipped.size());
        }
    }
};

// Edit 6.
Tally check_q8_0(std::mt19937 & rng) {
    // Whisper's shapes (rows 384/512/1536/2048, rows of 12/16/48/64 blocks) and odd ones: a
    // row count that is not a multiple of 8 (tinyBLAS on both sides), a column count that is
    // not a multiple of the job width, one or two columns.
    const int64_t shapes[][3] = {{512, 1100, 16}, {2048, 300, 16}, {512, 301, 64}, {1536, 77, 12},
                                 {384, 129, 48},  {8, 2, 1},       {16, 65, 3},   {12, 40, 2}};
    Tally tally;
    for (const auto & shape : shapes) {
        for (int values = 0; values < 2; ++values) {
            for (int nth = 1; nth <= 3; ++nth) {
                const int64_t m = shape[0], n = shape[1], k = shape[2];
                std::vector<block_q8_0> A(m * k), B(n * k);
                random_q8_0(rng, values, A, B);
                if (values) {  // infinite, NaN and subnormal scales
                    A[0].d = 0x7c00;
                    B[B.size() - 1].d = 0xfc00;
                    A[A.size() / 2].d = 0x7e00;
                    B[0].d = 0x0001;
                }
                std::vector<float> shipped(m * n, 1.0f), edited(m * n, 2.0f);
                if (!product(llamafile_sgemm_ref, nth, GGML_TYPE_Q8_0, m, n, k, A.data(), B.data(), shipped.data()) ||
                    !product(llamafile_sgemm, nth, GGML_TYPE_Q8_0, m, n, k, A.data(), B.data(), edited.data())) {
                    fprintf(stderr, "llamafile_sgemm declined a q8_0 product\n");
                    abort();
                }
                tally.judge_product(shipped, edited, m, n, k, values, nth,
                                    [&](int64_t i, int64_t j, double & sum, double & magnitudes) {
                                        for (int64_t b = 0; b < k; ++b) {
                                            const block_q8_0 & x = A[i * k + b];
                                            const block_q8_0 & y = B[j * k + b];
                                            const double scale = (double) _cvtsh_ss(x.d) * (double) _cvtsh_ss(y.d);
                                            double dot, magnitude;
                                            block_dot(x, y, dot, magnitude);
                                            sum += scale * dot;
                                            magnitudes += std::fabs(scale) * magnitude;
                                        }
                                    });
            }
        }
    }
    return tally;
}

// Edit 10.
Tally check_f16(std::mt19937 & rng) {
    // Whisper's encoder: keys × queries (k 64 = the head width), softmax × values (k = the
    // context), the convolutions (k 240, 1536); the decoder's few-token products; and odd ones:
    // rows not a multiple of 16, or of 4 (which tinyBLAS declines), columns not a multiple of 6,
    // k of 8, of 0 (all zeros) and not a multiple of the kernel's 256-value runs.
    const int64_t shapes[][3] = {{528, 528, 64}, {64, 528, 528}, {512, 200, 1536}, {512, 410, 240}, {1488, 3, 64},
                                 {40, 7, 264},   {100, 13, 8},   {16, 2, 8},       {36, 98, 520},   {18, 5, 16},
                                 {16, 4, 0}};
    Tally tally;
    for (const auto & shape : shapes) {
        for (int values = 0; values < 2; ++values) {
            for (int nth = 1; nth <= 3; ++nth) {
                const int64_t m = shape[0], n = shape[1], k = shape[2];
                // Values as attention and convolutions give them, and a wider spread.
                std::normal_distribution<float> value(0.0f, values ? 30.0f : 1.0f);
                std::vector<ggml_fp16_t> A(m * k), B(n * k);
                for (auto * v : {&A, &B}) {
                    for (auto & x : *v) {
                        x = _cvtss_sh(value(rng), 0);
                    }
                }
                // B as f32 values that f16 cannot hold (ties, values past its range, NaN), and
                // as ggml rounds them to f16 before an f16 × f16 product.
                std::vector<float> B32(n * k);
                for (size_t i = 0; i < B32.size(); ++i) {
                    B32[i] = _cvtsh_ss(B[i]) * (1.0f + std::ldexp((float) (i % 5) - 2.0f, -12));
                }
                if (values && k > 0) {  // infinite, NaN and subnormal values
                    A[0] = 0x7c00;
                    B[B.size() - 1] = 0xfc00;
                    A[A.size() / 2] = 0x7e00;
                    B[0] = 0x0001;
                    B32[0] = 70000.0f;
                    B32[B32.size() / 2] = NAN;
                    B32[B32.size() - 1] = 1e-7f;
                }
                std::vector<float> a(A.size()), b(B.size());
                for (size_t i = 0; i < A.size(); ++i) {
                    a[i] = _cvtsh_ss(A[i]);
                }
                for (size_t i = 0; i < B.size(); ++i) {
                    b[i] = _cvtsh_ss(B[i]);
                }
                std::vector<float> shipped(m * n, 1.0f), edited(m * n, 2.0f);
                // tinyBLAS declines rows that are not a multiple of 4, which the edited kernel
                // takes: then only the edited one is judged.
                const bool has_shipped =
                    product(llamafile_sgemm_ref, nth, GGML_TYPE_F16, m, n, k, A.data(), B.data(), shipped.data());
                if (!product(llamafile_sgemm, nth, GGML_TYPE_F16, m, n, k, A.data(), B.data(), edited.data())) {
                    fprintf(stderr, "the edited llamafile_sgemm declined an f16 product\n");
                    abort();
                }
                if (!has_shipped) {
                    shipped = edited;
                }
                if (k > 0 && k % 8 == 0) {  // what the f32 path takes
                    std::vector<ggml_fp16_t> rounded(B32.size());
                    for (size_t i = 0; i < B32.size(); ++i) {
                        rounded[i] = _cvtss_sh(B32[i], _MM_FROUND_TO_NEAREST_INT);
                    }
                    std::vector<float> from_f16(m * n, 3.0f), from_f32(m * n, 4.0f);
                    if (!product(llamafile_sgemm, nth, GGML_TYPE_F16, m, n, k, A.data(), rounded.data(),
                                 from_f16.data()) ||
                        !product(llamafile_sgemm, nth, GGML_TYPE_F16, m, n, k, A.data(), B32.data(), from_f32.data(),
                                 GGML_TYPE_F32)) {
                        fprintf(stderr, "the edited llamafile_sgemm declined an f16 × f32 product\n");
                        abort();
                    }
                    size_t differing = 0;
                    for (size_t i = 0; i < from_f32.size(); ++i) {
                        differing += memcmp(&from_f16[i], &from_f32[i], sizeof(float)) != 0;
                    }
                    if (differing) {
                        fprintf(stderr, "m=%lld n=%lld k=%lld values=%d threads=%d: %zu f16 × f32 outputs differ\n",
                                (long long) m, (long long) n, (long long) k, values, nth, differing);
                    }
                    tally.f32_outputs += from_f32.size();
                    tally.f32_differing += differing;
                }
                tally.judge_product(shipped, edited, m, n, k, values, nth,
                                    [&](int64_t i, int64_t j, double & sum, double & magnitudes) {
                                        for (int64_t l = 0; l < k; ++l) {
                                            const double t = (double) a[i * k + l] * (double) b[j * k + l];
                                            sum += t;
                                            magnitudes += std::fabs(t);
                                        }
                                    });
            }
        }
    }
    return tally;
}

// Outputs of one-column products compared with ggml's own row-by-row function, and those that
// differ in any bit.
struct ColumnTally {
    size_t compared = 0;
    size_t differing = 0;

    // Runs the edited llamafile_sgemm on m rows of A (lda elements or blocks apart) times the one
    // column B on `nth` threads and compares each output with `ggml(i, &out)`, ggml's own
    // function on row i. Says on stderr where any differ.
    template <typename Ggml>
    void compare(const char * what, int type, int64_t m, int64_t k, int64_t lda, const void * A, const void * B,
                 int values, int nth, Ggml ggml) {
        std::vector<float> edited(m, 2.0f);
        if (!product(llamafile_sgemm, nth, type, m, 1, k, A, B, edited.data(), -1, lda)) {
            fprintf(stderr, "the edited llamafile_sgemm declined a %s product of one column\n", what);
            abort();
        }
        size_t here = 0;
        for (int64_t i = 0; i < m; ++i) {
            float out = 1.0f;
            ggml(i, &out);
            here += memcmp(&out, &edited[i], sizeof(float)) != 0;
        }
        if (here) {
            fprintf(stderr, "m=%lld k=%lld values=%d threads=%d: %zu of %lld %s one-column outputs differ\n",
                    (long long) m, (long long) k, values, nth, here, (long long) m, what);
        }
        compared += m;
        differing += here;
    }

    size_t report(const char * what, const char * function) const {
        printf("%s products of one column: %zu outputs, %zu not bit for bit %s's\n", what, compared, differing,
               function);
        return differing;
    }
};

// Edit 11: f16 products of one column against ggml_vec_dot_f16, row by row, bit for bit. Returns
// the number of outputs that differ; says how many were compared.
size_t check_f16_column(std::mt19937 & rng) {
    // {rows, k, lda}: the decoder's cross-attention keys (64 values a row, rows 512 apart: the
    // encoder positions of one head) and values (a row per head dimension, k = the context), its
    // self-attention, an f16 model's projections; and k with values past the last run of 32,
    // k under 8, one row, fewer rows than threads.
    const int64_t shapes[][3] = {{1456, 64, 512}, {64, 1456, 1456}, {64, 1152, 1152}, {512, 2048, 2048},
                                 {37, 100, 130},  {5, 7, 7},        {1, 33, 33},      {2, 40, 48}};
    ColumnTally tally;
    for (const auto & shape : shapes) {
        for (int values = 0; values < 2; ++values) {
            for (int nth = 1; nth <= 3; ++nth) {
                const int64_t m = shape[0], k = shape[1], lda = shape[2];
                std::normal_distribution<float> value(0.0f, values ? 30.0f : 1.0f);
                std::vector<ggml_fp16_t> A(m * lda), B(k);
                for (auto * v : {&A, &B}) {
                    for (auto & x : *v) {
                        x = _cvtss_sh(value(rng), 0);
                    }
                }
                if (values) {  // infinite, NaN and subnormal values
                    A[0] = 0x7c00;
                    A[A.size() / 2] = 0x7e00;
                    B[B.size() - 1] = 0x0001;
                }
                tally.compare("f16", GGML_TYPE_F16, m, k, lda, A.data(), B.data(), values, nth, [&](int64_t i, float * out) {
                    ggml_vec_dot_f16((int) k, out, 0, &A[i * lda], 0, B.data(), 0, 1);
                });
            }
        }
    }
    return tally.report("f16", "ggml_vec_dot_f16");
}

// Edit 12: q8_0 products of one column against ggml_vec_dot_q8_0_q8_0, row by row, bit for bit.
// Returns the number of outputs that differ; says how many were compared.
size_t check_q8_0_column(std::mt19937 & rng) {
    // {rows, k, lda in blocks}: the decoder's shapes (512 and 2,048 rows of 16 blocks, 512 rows of
    // 64, the 51,865-row vocabulary) and rows further apart than k, fewer rows than the prefetch
    // distance or than threads.
    const int64_t shapes[][3] = {{512, 16, 16}, {2048, 16, 16}, {512, 64, 64}, {51865, 16, 16},
                                 {7, 3, 5},     {1, 1, 1},      {2, 5, 5},     {13, 2, 2}};
    ColumnTally tally;
    for (const auto & shape : shapes) {
        for (int values = 0; values < 2; ++values) {
            for (int nth = 1; nth <= 3; ++nth) {
                const int64_t m = shape[0], k = shape[1], lda = shape[2];
                std::vector<block_q8_0> A(m * lda), B(k);
                random_q8_0(rng, values, A, B);
                if (values) {  // infinite, NaN and subnormal scales
                    A[0].d = 0x7c00;
                    A[A.size() / 2].d = 0x7e00;
                    B[B.size() - 1].d = 0x0001;
                }
                tally.compare("q8_0", GGML_TYPE_Q8_0, m, k, lda, A.data(), B.data(), values, nth,
                              [&](int64_t i, float * out) {
                                  ggml_vec_dot_q8_0_q8_0((int) (k * 32), out, 0, &A[i * lda], 0, B.data(), 0, 1);
                              });
            }
        }
    }
    return tally.report("q8_0", "ggml_vec_dot_q8_0_q8_0");
}

}  // namespace

int main() {
    for (int i = 0; i < (1 << 16); ++i) {
        ggml_table_f32_f16[i] = _cvtsh_ss((unsigned short) i);
    }
    std::mt19937 rng(20261205);
    const Tally q8_0 = check_q8_0(rng);
    q8_0.report("q8_0 products");
    const Tally f16 = check_f16(rng);
    f16.report("f16 products");
    const size_t column = check_f16_column(rng) + check_q8_0_column(rng);
    return q8_0.out_of_bounds + f16.out_of_bounds + f16.f32_differing + column ? 1 : 0;
}
