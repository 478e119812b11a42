// Times llamafile_sgemm as ggml ships it (llamafile_sgemm_ref) against the same file after
// .cargo/ggml-cpu-edits.cmake (llamafile_sgemm) on the encoder's products of Whisper base: the
// q8_0 projections (512 and 2,048 rows, 1,100 and 1,456 positions) and the f16 attention and
// convolution products (1,152 and 1,456 positions), f16 × f16 and, for the edited kernel, the
// f16 × f32 product it takes in place of ggml's rounding pass. Built and run by
// benches/kernels.sh. For each shape and thread count the shipped kernel runs 7 times, then the
// edited one; a kernel's time is its best run, reported as GMAC/s (multiply-adds per second).
#include "sgemm-harness.h"

#include <algorithm>
#include <chrono>
#include <string>

namespace {

// Best wall time of `rounds` runs of `f`, or a negative value when `f` declined the product.
double best(Sgemm f, int nth, int type, int btype, int64_t m, int64_t n, int64_t k, const void * A, const void * B,
            float * C) {
    double fastest = 1e30;
    const auto start = std::chrono::steady_clock::now();
    const int rounds = 7;
    for (int r = 0; r < rounds; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        if (!product(f, nth, type, m, n, k, A, B, C, btype)) {
            return -1.0;
        }
        fastest = std::min(fastest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (std::chrono::steady_clock::now() - start > std::chrono::seconds(20)) {
            break;  // bounded in time as well as in count
        }
    }
    return fastest;
}

// GMAC/s of a product of `macs` multiply-adds in `seconds`, as table text.
std::string rate(double macs, double seconds) {
    if (seconds < 0) {
        return "declined";
    }
    char text[32];
    snprintf(text, sizeof text, "%.1f", macs / seconds / 1e9);
    return text;
}

void row(const char * what, int64_t m, int64_t n, int64_t k, int nth, double shipped, double edited,
         double edited_f32) {
    const double macs = (double) m * n * k;
    printf("| %s | %lld × %lld × %lld | %d | %s | %s | %s |\n", what, (long long) m, (long long) n, (long long) k, nth,
           rate(macs, shipped).c_str(), rate(macs, edited).c_str(),
           edited_f32 == 0 ? "—" : rate(macs, edited_f32).c_str());
}

}  // namespace

int main() {
    for (int i = 0; i < (1 << 16); ++i) {
        ggml_table_f32_f16[i] = _cvtsh_ss((unsigned short) i);
    }
    std::mt19937 rng(20261206);
    printf("| product | rows × columns × k | threads | shipped GMAC/s | edited GMAC/s | edited, f32 B |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    // {rows, columns, values per row}: q, k, v and output projections at 22 s (1,100 positions)
    // and at the full window; the MLP's two.
    const int64_t q8_0_shapes[][3] = {{512, 1100, 512}, {2048, 1100, 512}, {512, 1100, 2048}, {512, 1456, 512}};
    const int64_t f16_shapes[][3] = {{1152, 1152, 64}, {64, 1152, 1152}, {512, 1152, 1536}, {1456, 1456, 64},
                                     {64, 1456, 1456}};
    for (int nth = 1; nth <= 2; ++nth) {
        for (const auto & s : q8_0_shapes) {
            const int64_t m = s[0], n = s[1], blocks = s[2] / 32;
            std::vector<block_q8_0> A(m * blocks), B(n * blocks);
            random_q8_0(rng, 0, A, B);
            std::vector<float> C(m * n);
            const double shipped = best(llamafile_sgemm_ref, nth, GGML_TYPE_Q8_0, -1, m, n, blocks, A.data(), B.data(), C.data());
            const double edited = best(llamafile_sgemm, nth, GGML_TYPE_Q8_0, -1, m, n, blocks, A.data(), B.data(), C.data());
            row("q8_0", m, n, s[2], nth, shipped, edited, 0);
        }
        for (const auto & s : f16_shapes) {
            const int64_t m = s[0], n = s[1], k = s[2];
            std::vector<ggml_fp16_t> A(m * k), B(n * k);
            std::vector<float> B32(n * k);
            std::normal_distribution<float> value(0.0f, 1.0f);
            for (auto & x : A) {
                x = _cvtss_sh(value(rng), 0);
            }
            for (size_t i = 0; i < B.size(); ++i) {
                B32[i] = value(rng);
                B[i] = _cvtss_sh(B32[i], 0);
            }
            std::vector<float> C(m * n);
            const double shipped = best(llamafile_sgemm_ref, nth, GGML_TYPE_F16, GGML_TYPE_F16, m, n, k, A.data(), B.data(), C.data());
            const double edited = best(llamafile_sgemm, nth, GGML_TYPE_F16, GGML_TYPE_F16, m, n, k, A.data(), B.data(), C.data());
            const double edited_f32 = best(llamafile_sgemm, nth, GGML_TYPE_F16, GGML_TYPE_F32, m, n, k, A.data(), B32.data(), C.data());
            row("f16", m, n, k, nth, shipped, edited, edited_f32);
        }
    }
    return 0;
}
