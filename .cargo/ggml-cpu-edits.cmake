# Included before every project() of whisper.cpp's build (CMAKE_PROJECT_INCLUDE_BEFORE, set in
# .cargo/config.toml and passed on by whisper-rs-sys, which forwards every CMAKE_* variable).
#
# It makes seven edits to ggml's CPU backend, one to ggml's allocator and five to whisper.cpp,
# in the copy of whisper.cpp that whisper-rs-sys makes in its build directory (never the
# registry's source; nothing is vendored). Each edit replaces one exact piece of text; if a later
# whisper-rs-sys changes that text, this says so in a warning and leaves the file as it is, and
# the build goes on with whisper.cpp's and ggml's own code.
# A changed edit reaches an existing build directory only after `cargo clean -p whisper-rs-sys`
# (whisper-rs-sys does not watch this file).

# Replaces `old1` by `new1` in `path`, once, and `old2` by `new2` when given (two replacements
# that only work together, such as a declaration and the #include it needs: both are made, or,
# if either `old` is missing, neither). `new1` must carry a marker that `old1` lacks, so a second
# project() of the same build sees the edit done. The optional pair is read from ARGV4/ARGV5,
# which keep the semicolons of C code that ARGN would split.
set(_callscribe_dir "${CMAKE_CURRENT_LIST_DIR}")

function(_callscribe_edit path what old1 new1)
    if(NOT EXISTS "${path}")
        return()
    endif()
    file(READ "${path}" text)
    string(FIND "${text}" "${new1}" done)
    string(FIND "${text}" "${old1}" at)
    if(ARGC GREATER 5)
        set(old2 "${ARGV4}")
        set(new2 "${ARGV5}")
        string(FIND "${text}" "${old2}" at2)
        if(at2 EQUAL -1)
            set(at -1)
        endif()
    endif()
    if(done GREATER -1)
        # Already edited by an earlier project() of the same build.
    elseif(at GREATER -1)
        string(REPLACE "${old1}" "${new1}" text "${text}")
        if(ARGC GREATER 5)
            string(REPLACE "${old2}" "${new2}" text "${text}")
        endif()
        file(WRITE "${path}" "${text}")
        message(STATUS "callscribe: ${what}")
    else()
        message(WARNING "callscribe: ${path} has changed; left as it is (${what})")
    endif()
endfunction()

foreach(_callscribe_root "${CMAKE_CURRENT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/ggml")
    # 1. ggml's AMX kernels take q8_0 weights of any width that is a whole number of q8_0
    # blocks. ggml 0.9.5, the one whisper-rs-sys 0.15 ships, takes a weight into its AMX buffer
    # only when its row is a multiple of 2,048 values: a stop-gap of
    # https://github.com/ggml-org/llama.cpp/pull/16315 against wrong results with Q4_0 and Q4_1,
    # which upstream lifted again in https://github.com/ggml-org/llama.cpp/pull/19867. In Whisper
    # base (width 512) only the MLP output projections qualified; with this, every q8_0
    # projection of the encoder and the decoder runs on AMX (AVX512-VNNI for one row at a time).
    # Measured 2026-12-04 with base q8_0, 2 threads, on a CPU with AMX: a long message 15–20 %
    # faster, the transcripts the same to a letter or two (BENCHMARKS.md). CPUs without AMX and
    # f16 models build and run as before: the AMX code is compiled only for a CPU with AMX
    # (GGML_NATIVE), and the check is unchanged for every type but q8_0.
    _callscribe_edit("${_callscribe_root}/src/ggml-cpu/amx/amx.cpp"
        "ggml AMX kernels take q8_0 weights of any width"
        "op->src[0]->ne[0] % (TILE_K * 2 * 32) == 0 &&"
        "op->src[0]->ne[0] % (op->src[0]->type == GGML_TYPE_Q8_0 ? TILE_K : TILE_K * 2 * 32) == 0 && /* callscribe: .cargo/ggml-cpu-edits.cmake */")

    # 2. The row maximum of ggml's softmax in SIMD registers. ggml 0.9.5 (and upstream as of
    # 2026-12) finds it with a scalar loop, one `vmaxss` per value in a chain of dependent
    # instructions, which the compiler may not vectorise without fast-math (the order of a
    # floating-point max decides which NaN or which signed zero wins). The encoder's attention
    # takes a softmax over rows as long as its context (up to 1,488 values, 8 heads × as many
    # rows, 6 layers), and that loop alone was 7 % of an encoder pass. The maximum of finite
    # values does not depend on the order it is taken in, so the softmax, and every transcript,
    # is bit for bit the same. Measured 2026-12-04, base q8_0, 2 threads, one encoder pass at
    # 1,168 positions: 495 ms → 455 ms.
    _callscribe_edit("${_callscribe_root}/src/ggml-cpu/vec.h"
        "ggml's softmax row maximum in SIMD registers"
        "    float max = -INFINITY;
    for (int i = 0; i < n; ++i) {
        max = MAX(max, x[i]);
    }
    *s = max;"
        "    float max = -INFINITY;
    int i = 0; /* callscribe: .cargo/ggml-cpu-edits.cmake */
#if defined(__AVX512F__)
    if (n >= 16) {
        __m512 vmax = _mm512_loadu_ps(x);
        for (i = 16; i + 16 <= n; i += 16) {
            vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
        }
        max = _mm512_reduce_max_ps(vmax);
    }
#elif defined(__AVX__)
    if (n >= 8) {
        __m256 vmax = _mm256_loadu_ps(x);
        for (i = 8; i + 8 <= n; i += 8) {
            vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
        }
        __m128 half = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
        half = _mm_max_ps(half, _mm_movehl_ps(half, half));
        half = _mm_max_ss(half, _mm_movehdup_ps(half));
        max = _mm_cvtss_f32(half);
    }
#endif
    for (; i < n; ++i) {
        max = MAX(max, x[i]);
    }
    *s = max;")

    # 3. GELU from ggml's own table, 16 (or 8) values at a time. ggml computes GELU by rounding each
    # value to f16 and looking it up in a 65,536-entry table (GGML_GELU_FP16), one value per
    # iteration with two branches; that loop was 2.7 % of a long message's CPU time (the encoder's
    # MLP, 2,048 × context values per layer). Here the same rounding (`_mm512_cvtps_ph`, round to
    # nearest even as `_cvtss_sh(x, 0)`), the same table read with a gather, the same ±10 cut-offs:
    # bit for bit ggml's values (a NaN stays a NaN). With AVX2 and F16C the same, 8 values at a time
    # (AVX2 has no 32-to-16-bit narrowing: the entries are masked to their low half and packed).
    # Checked on every one of the 2^32 f32 bit patterns against ggml's loop (2026-12-04, a
    # standalone harness built with -mavx2 -mf16c): no difference (a NaN gives a NaN either way). On
    # an AMD EPYC (Zen 3) core, one encoder MLP's 2,048 × 1,488 values took 3.0 ms instead of 9.9
    # ms. Elsewhere, and for the tail of a row, ggml's loop runs as before.
    _callscribe_edit("${_callscribe_root}/src/ggml-cpu/vec.h"
        "ggml's GELU table read 16 or 8 values at a time"
        "inline static void ggml_vec_gelu_f32(const int n, float * y, const float * x) {
    uint16_t t;
    for (int i = 0; i < n; ++i) {
        if (x[i] <= -10.0f) {
            y[i] = 0.0f;
        } else if (x[i] >= 10.0f) {
            y[i] = x[i];"
        "inline static void ggml_vec_gelu_f32(const int n, float * y, const float * x) {
    uint16_t t;
    int i = 0; /* callscribe: .cargo/ggml-cpu-edits.cmake */
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        const __m512 lo = _mm512_set1_ps(-10.0f);
        const __m512 hi = _mm512_set1_ps(10.0f);
        const __mmask16 zero = _mm512_cmp_ps_mask(v, lo, _CMP_LE_OQ);
        const __mmask16 same = _mm512_cmp_ps_mask(v, hi, _CMP_GE_OQ);
        const __mmask16 inside = _mm512_cmp_ps_mask(v, lo, _CMP_GT_OQ) & _mm512_cmp_ps_mask(v, hi, _CMP_LT_OQ);
        const __m512i index = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(v, 0));
        const __m512i entry = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), inside, index, (const void *) ggml_table_gelu_f16, 2);
        __m512 r = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(entry));
        r = _mm512_mask_mov_ps(r, (__mmask16) ~(zero | inside), v);
        r = _mm512_mask_mov_ps(r, zero, _mm512_setzero_ps());
        _mm512_storeu_ps(y + i, r);
    }
#elif defined(__AVX2__) && defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 lo = _mm256_set1_ps(-10.0f);
        const __m256 hi = _mm256_set1_ps(10.0f);
        const __m256 zero = _mm256_cmp_ps(v, lo, _CMP_LE_OQ);
        const __m256 inside = _mm256_and_ps(_mm256_cmp_ps(v, lo, _CMP_GT_OQ), _mm256_cmp_ps(v, hi, _CMP_LT_OQ));
        const __m256i index = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(v, 0));
        const __m256i entry = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *) ggml_table_gelu_f16, index, _mm256_castps_si256(inside), 2);
        const __m256i low = _mm256_and_si256(entry, _mm256_set1_epi32(0xFFFF));
        __m256 r = _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(low), _mm256_extracti128_si256(low, 1)));
        r = _mm256_blendv_ps(v, r, inside);
        r = _mm256_andnot_ps(zero, r);
        _mm256_storeu_ps(y + i, r);
    }
#endif
    for (; i < n; ++i) {
        if (x[i] <= -10.0f) {
            y[i] = 0.0f;
        } else if (x[i] >= 10.0f) {
            y[i] = x[i];")
    # 6. q8_0 × q8_0 products on AVX2 by panels of 8 weight rows (.cargo/q8_0-panel-gemm.inc, which
    # says how). On a CPU with AVX2 but without AMX, llamafile's tinyBLAS_Q0_AVX does
    # every q8_0 projection of the encoder (35 % of a long message's CPU time with base q8_0);
    # it spends a shuffle and a broadcast on each 32-value block of each output, and a conversion
    # and an FMA on every four values. The panel kernel adds a block's integer sums up before its
    # one conversion and FMA: one core of a Zen 1 EPYC (2026-12-06) ran 512 × 1,100 × 512 at
    # 15.8–16.0 GMAC/s where tinyBLAS runs 9.3–9.5 (BENCHMARKS.md, "The same benchmark on a Zen 1
    # EPYC"). Its results are not tinyBLAS's bit for bit (a block's sum is exact here);
    # scripts/check-build-edits.sh holds both to the textbook error bound of the exact product
    # on 9 million outputs (8 shapes, 1–3 threads, values of ±127 and -128, inf and NaN scales)
    # in every test run, built for AVX2 and, on a CPU with AVX-512, for that CPU. With AVX-512 the
    # kernel is the same 256-bit code (with AVX512-VNNI, vpdpbusd in place of vpmaddubsw and
    # vpmaddwd, the same sums), and still the faster: on one core of a Zen 4 EPYC (2026-12-06,
    # benches/kernels.sh) the encoder's shapes ran at 60–63 GMAC/s where tinyBLAS's AVX-512 build,
    # which uses vpdpbusd too, runs 40–44. Builds with AMX (whose q8_0 weights all go to the AMX
    # kernels, edit 1; not measured here) and weights whose row count is not a multiple of 8 keep
    # tinyBLAS.
    if(EXISTS "${_callscribe_root}/src/ggml-cpu/llamafile/sgemm.cpp")
        file(READ "${_callscribe_dir}/q8_0-panel-gemm.inc" _callscribe_q8_0_gemm)
        _callscribe_edit("${_callscribe_root}/src/ggml-cpu/llamafile/sgemm.cpp"
            "q8_0 products on AVX2 by panels of 8 rows"
            "    case GGML_TYPE_Q8_0: {
        if (Btype != GGML_TYPE_Q8_0)
           return false;
"
            "    case GGML_TYPE_Q8_0: {
        if (Btype != GGML_TYPE_Q8_0)
           return false;
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__AMX_INT8__)
        if (m % 8 == 0) { /* callscribe: .cargo/ggml-cpu-edits.cmake */
            callscribe_q8_0::gemm(m, n, k, (const block_q8_0 *)A, lda, (const block_q8_0 *)B, ldb,
                                  (float *)C, ldc, params->ith, params->nth);
            return true;
        }
#endif
"
            "bool llamafile_sgemm(const struct ggml_compute_params * params, int64_t m, int64_t n, int64_t k,"
            "#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__AMX_INT8__)
${_callscribe_q8_0_gemm}
#endif

bool llamafile_sgemm(const struct ggml_compute_params * params, int64_t m, int64_t n, int64_t k,")
    endif()

    # 12. q8_0 × q8_0 products of one column on AVX2 with the rows ahead prefetched
    # (.cargo/q8_0-gemv.inc, which says how). For each token the decoder multiplies its q8_0
    # weights (51 MB, the 51,865-row vocabulary among them) by one column, which ggml does row by
    # row with ggml_vec_dot_q8_0_q8_0. Each row's arithmetic here is that function's, step for
    # step, so every output is ggml's bit for bit (scripts/check-build-edits.sh compares them);
    # the kernel only asks for the row two ahead while it sums the current one. Measured:
    # BENCHMARKS.md, "Where the time goes on long messages". The builds of edit 6, less those
    # with AVX-VNNI-INT8: there ggml's row function multiplies signed bytes directly
    # (vpdpbssd), which differs from the sign trick here when both bytes are -128. With
    # AVX512-VNNI or AVX-VNNI, ggml's row function forms the same sign trick's products with
    # vpdpbusd, whose int32 sums equal vpmaddubsw's and vpmaddwd's here (vpmaddubsw cannot
    # saturate on these operands), so the outputs are still ggml's bit for bit; the check
    # compares them in that build too.
    if(EXISTS "${_callscribe_root}/src/ggml-cpu/llamafile/sgemm.cpp")
        file(READ "${_callscribe_dir}/q8_0-gemv.inc" _callscribe_q8_0_gemv)
        _callscribe_edit("${_callscribe_root}/src/ggml-cpu/llamafile/sgemm.cpp"
            "q8_0 products of one column on AVX2, rows ahead prefetched"
            "    assert(params->ith < params->nth);
"
            "    assert(params->ith < params->nth);
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__AMX_INT8__) && !defined(__AVXVNNIINT8__)
    if (n == 1 && Atype == GGML_TYPE_Q8_0 && Btype == GGML_TYPE_Q8_0 && Ctype == GGML_TYPE_F32) { /* callscribe: one q8_0 column, .cargo/ggml-cpu-edits.cmake */
        callscribe_q8_0::gemv(m, k, (const block_q8_0 *)A, lda, (const block_q8_0 *)B, (float *)C, params->ith, params->nth);
        return true;
    }
#endif
"
            "bool llamafile_sgemm(const struct ggml_compute_params * params, int64_t m, int64_t n, int64_t k,"
            "#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__AMX_INT8__) && !defined(__AVXVNNIINT8__)
${_callscribe_q8_0_gemv}
#endif

bool llamafile_sgemm(const struct ggml_compute_params * params, int64_t m, int64_t n, int64_t k,")
    endif()

    # 10. f16 × f16 products on AVX2 by packed f32 panels (.cargo/f16-panel-gemm.inc, which says
    # how). On a CPU with AVX2 (with or without AVX-512), llamafile's tinyBLAS does the
    # encoder's f16 products (its attention and convolutions, and with an f16 model every
    # projection too), converting both operands on every load; on a Zen 1 EPYC (2026-12-06) it
    # ran 4.1–5.8 GMAC/s on one core where the packed kernel runs 15.8–17.3 (BENCHMARKS.md,
    # "The same benchmark on a Zen 1 EPYC"). The results differ from tinyBLAS's in the last bits
    # (a sum in another order); scripts/check-build-edits.sh holds both to the textbook error
    # bound of the exact product. It takes what tinyBLAS takes: k a multiple of 8 (any m and n ≥ 2), but not
    # k = 0, whose zeros tinyBLAS writes. It also takes an f32 B, which tinyBLAS declines on
    # AVX2: ggml then rounds B to f16 in a pass of its own (the encoder's softmax, 42 MB a layer
    # at 1,152 positions, read and written again as f16) and asks for the f16 × f16 product
    # after a barrier; the kernel rounds each value the same way as it packs it, so the product
    # is that one bit for bit (the check compares them), without the pass. With AVX-512,
    # tinyBLAS's 16-lane f16 tiles convert on every load as well: on one core of a Zen 4 EPYC
    # (2026-12-06, benches/kernels.sh; its 512-bit units are two 256-bit halves) they ran 12–20
    # GMAC/s where this 256-bit kernel runs 50–53, so AVX-512 builds take it too (inserted
    # before tinyBLAS's AVX-512 branch); builds with AMX keep tinyBLAS (not measured here).
    if(EXISTS "${_callscribe_root}/src/ggml-cpu/llamafile/sgemm.cpp")
        file(READ "${_callscribe_dir}/f16-panel-gemm.inc" _callscribe_f16_gemm)
        _callscribe_edit("${_callscribe_root}/src/ggml-cpu/llamafile/sgemm.cpp"
            "f16 products on AVX2 by packed f32 panels"
            "    case GGML_TYPE_F16: {
#if defined(__AVX512F__)
"
            "    case GGML_TYPE_F16: {
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__AMX_INT8__)
        if (Btype == GGML_TYPE_F16 && k % 8 == 0 && k > 0) { /* callscribe: f16 panels, .cargo/ggml-cpu-edits.cmake */
            callscribe_f16::gemm(m, n, k, (const ggml_fp16_t *)A, lda, (const ggml_fp16_t *)B, ldb,
                                 (float *)C, ldc, params->ith, params->nth);
            return true;
        }
        if (Btype == GGML_TYPE_F32 && k % 8 == 0 && k > 0) { /* callscribe: f32 B rounded to f16 as it is packed */
            callscribe_f16::gemm(m, n, k, (const ggml_fp16_t *)A, lda, (const float *)B, ldb,
                                 (float *)C, ldc, params->ith, params->nth);
            return true;
        }
#endif
#if defined(__AVX512F__)
"
            "bool llamafile_sgemm(const struct ggml_compute_params * params, int64_t m, int64_t n, int64_t k,"
            "#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__AMX_INT8__)
${_callscribe_f16_gemm}
#endif

bool llamafile_sgemm(const struct ggml_compute_params * params, int64_t m, int64_t n, int64_t k,")
    endif()
    # 11. f16 products of one column on AVX2 (callscribe_f16::gemv in .cargo/f16-panel-gemm.inc,
    # which says how). For each token the decoder multiplies its cross-attention keys and values
    # (f16, one row of 64 values per encoder position and head for the keys) by one column, and
    # an f16 model its weights too; ggml does it row by row with ggml_vec_dot_f16, converting
    # the column again for every row. The kernel converts the column once and gives each row
    # ggml_vec_dot_f16's own arithmetic step for step, written with ggml's own SIMD macros, so
    # 16-lane in an AVX-512 build as ggml's is: every output is ggml's bit for bit
    # (scripts/check-build-edits.sh compares them, in both builds). Measured: BENCHMARKS.md,
    # "Where the time goes on long messages". The same builds as edit 10.
    if(EXISTS "${_callscribe_root}/src/ggml-cpu/llamafile/sgemm.cpp")
        _callscribe_edit("${_callscribe_root}/src/ggml-cpu/llamafile/sgemm.cpp"
            "f16 products of one column on AVX2"
            "    // only enable sgemm for prompt processing
#if !defined(__MMA__)
    if (n < 2)
        return false;
#endif
"
            "#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__AMX_INT8__)
    if (n == 1 && Atype == GGML_TYPE_F16 && Btype == GGML_TYPE_F16 && Ctype == GGML_TYPE_F32) { /* callscribe: one f16 column, .cargo/ggml-cpu-edits.cmake */
        callscribe_f16::gemv(m, k, (const ggml_fp16_t *)A, lda, (const ggml_fp16_t *)B, (float *)C, params->ith, params->nth);
        return true;
    }
#endif
    // only enable sgemm for prompt processing
#if !defined(__MMA__)
    if (n < 2)
        return false;
#endif
")
    endif()

    # 8. ggml's buffers of 4 MiB or more on transparent huge pages. Every CPU buffer (the
    # weights, the KV caches, the compute buffers) comes from `ggml_aligned_malloc`, 64-byte
    # aligned on 4 KiB pages: loading base q8_0 faulted in 81 MB of weights 4 KiB at a time
    # (15 % of a run without speech), and the decoder reads its 51 MB of weights a token
    # through as many TLB entries. Aligned to 2 MiB and advised MADV_HUGEPAGE, they come in
    # 2 MiB pages wherever the kernel allows (THP `madvise` or `always`; under `never`, or when
    # no huge page is free, this changes nothing). Measured 2026-12-05 on the AMD EPYC, base
    # q8_0, 2 threads, `farm-bench` pairs: BENCHMARKS.md, "The start" and "Huge pages". The
    # allocator, the sizes and the contents are unchanged: the same results, about 15 MiB more
    # peak memory (partly used 2 MiB pages).
    _callscribe_edit("${_callscribe_root}/src/ggml.c"
        "ggml's large buffers on transparent huge pages"
        "  #else
    int result = posix_memalign(&aligned_memory, alignment, size);
  #endif"
        "  #else
    // callscribe: .cargo/ggml-cpu-edits.cmake (buffers of 4 MiB or more on huge pages)
    int result;
    if (size >= ((size_t) 4 << 20)) {
        result = posix_memalign(&aligned_memory, (size_t) 2 << 20, size);
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (result == 0) {
            madvise(aligned_memory, size, MADV_HUGEPAGE);
        }
    #endif
    } else {
        result = posix_memalign(&aligned_memory, alignment, size);
    }
  #endif"
        "#if defined(__linux__)
#include <sys/prctl.h>
#endif"
        "#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/mman.h>
#endif")
endforeach()

# 4. whisper.cpp's vocabulary in hash maps. The loader puts each of the 51,865 tokens into two
# ordered maps (`std::map`, a string compare at each of about 16 levels per token): 46 ms of a
# 105 ms model load, on the path of every `process` run. With `std::unordered_map` it took
# 18 ms (2026-12-04, base q8_0). whisper.cpp only looks tokens up in these maps (`find`, `at`,
# `[]`, `size`) and walks one of them only to suppress the tokens a regex matches, which does
# not depend on order: the same model, the same results.
_callscribe_edit("${CMAKE_CURRENT_SOURCE_DIR}/src/whisper.cpp"
    "whisper.cpp's vocabulary in hash maps"
    "    std::map<token, id> token_to_id;
    std::map<id, token> id_to_token;"
    "    std::unordered_map<token, id> token_to_id; /* callscribe: .cargo/ggml-cpu-edits.cmake */
    std::unordered_map<id, token> id_to_token;"
    "#include <map>
"
    "#include <map>
#include <unordered_map>
")

# 5. An encoder pass is not run again on the input it has just encoded. whisper.cpp encodes a
# window for every `whisper_lang_auto_detect` and again for every `whisper_full`, even when the
# state's last pass was over the very same input. With `--language auto` callscribe reads the
# language from the first piece's window (`whisper_lang_auto_detect`) and then decodes that
# window (`whisper_full`): two passes at full context over the same spectrogram, 0.5–0.9 s each
# for base. Here `whisper_encode_internal` becomes a wrapper that compares the input the pass
# would take (the same n_mel × 2·n_ctx frames from the same offset, zero-padded, built as
# whisper.cpp builds it) with the input of the state's last finished pass, kept in the state's
# own `inp_mel`; when they are equal, the state's cross-attention keys and values, the encoder's
# only output the decoder reads, are already that input's, and the pass is skipped. Nothing
# but a pass writes those keys and values, and a failed or aborted pass clears `inp_mel`, so a
# skip never reuses a partial result. The check compares about 1 MB: tens of microseconds.
_callscribe_edit("${CMAKE_CURRENT_SOURCE_DIR}/src/whisper.cpp"
    "whisper.cpp's encoder pass not repeated on the same input"
    "static bool whisper_encode_internal(
        whisper_context & wctx,"
    "static bool whisper_encode_internal_uncached(whisper_context &, whisper_state &, int, int, ggml_abort_callback, void *);

// callscribe: .cargo/ggml-cpu-edits.cmake (an encoder pass is not run again on the input of the
// state's last finished pass; that pass's cross-attention keys and values are still in the state).
static bool whisper_encode_internal(
        whisper_context & wctx,
          whisper_state & wstate,
              const int   mel_offset,
              const int   n_threads,
    ggml_abort_callback   abort_callback,
                   void * abort_callback_data) {
    const auto & mel_inp = wstate.mel;
    const int n_ctx = wstate.exp_n_audio_ctx > 0 ? wstate.exp_n_audio_ctx : wctx.model.hparams.n_audio_ctx;
    std::vector<float> next((size_t) mel_inp.n_mel * 2 * n_ctx, 0.0f);
    const int i0 = std::min(mel_offset,           mel_inp.n_len);
    const int i1 = std::min(mel_offset + 2*n_ctx, mel_inp.n_len);
    for (int j = 0; j < mel_inp.n_mel; ++j) {
        for (int i = i0; i < i1; ++i) {
            next[(size_t) j*2*n_ctx + (i - i0)] = mel_inp.data[(size_t) j*mel_inp.n_len + i];
        }
    }
    if (!wstate.inp_mel.empty() && next == wstate.inp_mel) {
        return !(abort_callback && abort_callback(abort_callback_data));
    }
    const bool ok = whisper_encode_internal_uncached(wctx, wstate, mel_offset, n_threads, abort_callback, abort_callback_data);
    if (!ok) {
        wstate.inp_mel.clear();
    }
    return ok;
}

static bool whisper_encode_internal_uncached(
        whisper_context & wctx,")

# 7. whisper.cpp's spectrogram DFTs four frequencies at a time. whisper.cpp's FFT splits each
# 400-sample frame down to sixteen 25-point DFTs, and its `dft` computes every term's table index
# with a multiplication and a modulo, one frequency and one sample at a time: 2.9 % of a long
# message's CPU time on an AMD EPYC (Zen 3). whisper.cpp is compiled for baseline x86-64 (SSE2,
# no FMA), so each term is a rounded product and a rounded sum, in sample order. Here the
# 25-point DFT reads the same cosines and sines from a table made once (the same indices into
# whisper.cpp's own table) and forms the same products and sums, in the same order, for four
# frequencies in the four lanes of an SSE register: the spectrogram is bit for bit whisper.cpp's
# (scripts/check-build-edits.sh compares the two FFTs on 20,000 frames; the 18 bench clips gave
# the same results). Measured 2026-12-05 on the AMD EPYC, base q8_0, language given: the FFT
# 2.9 % → 0.4 % of a long message's samples; `farm-bench -n 10` pairs, es-102 0.98×, es-104
# (10 s) 0.94×.
# Other sizes (none occur with whisper.cpp's 400-sample frames), and a build that lets the
# compiler fuse products and sums (FMA), take whisper.cpp's loop.
_callscribe_edit("${CMAKE_CURRENT_SOURCE_DIR}/src/whisper.cpp"
    "whisper.cpp's spectrogram DFTs four frequencies at a time"
    "static void dft(const float* in, int N, float* out) {
    const int sin_cos_step = SIN_COS_N_COUNT / N;

    for (int k = 0; k < N; k++) {"
    "#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// callscribe: .cargo/ggml-cpu-edits.cmake (the 25-point DFTs of the spectrogram, four
// frequencies at a time from a table of their cosines and sines: the same products and sums).
static void dft(const float* in, int N, float* out) {
    const int sin_cos_step = SIN_COS_N_COUNT / N;

#if defined(__SSE2__) && !defined(__FMA__)
    if (N == 25 && SIN_COS_N_COUNT % 25 == 0) {
        struct table {
            float cos_vals[25][28];
            float sin_vals[25][28];
            table() {
                for (int n = 0; n < 25; n++) {
                    for (int k = 0; k < 28; k++) {
                        const int idx = k < 25 ? (k * n * (SIN_COS_N_COUNT / 25)) % (SIN_COS_N_COUNT) : 0;
                        cos_vals[n][k] = global_cache.cos_vals[idx];
                        sin_vals[n][k] = global_cache.sin_vals[idx];
                    }
                }
            }
        };
        static const table t;
        float re_im[2][28];
        for (int k = 0; k < 28; k += 4) {
            __m128 re = _mm_setzero_ps();
            __m128 im = _mm_setzero_ps();
            for (int n = 0; n < 25; n++) {
                const __m128 x = _mm_set1_ps(in[n]);
                re = _mm_add_ps(re, _mm_mul_ps(x, _mm_loadu_ps(&t.cos_vals[n][k])));
                im = _mm_sub_ps(im, _mm_mul_ps(x, _mm_loadu_ps(&t.sin_vals[n][k])));
            }
            _mm_storeu_ps(&re_im[0][k], re);
            _mm_storeu_ps(&re_im[1][k], im);
        }
        for (int k = 0; k < 25; k++) {
            out[k*2 + 0] = re_im[0][k];
            out[k*2 + 1] = re_im[1][k];
        }
        return;
    }
#endif

    for (int k = 0; k < N; k++) {")

# 9. Whisper's no-speech probability read where the model gives it: at the start-of-transcript
# token. OpenAI Whisper takes `<|nospeech|>`'s probability from the logits at the SOT position
# (`probs_at_sot` in decoding.py: after SOT the model names the language, or says there is no
# speech), and faster-whisper does the same. whisper.cpp 1.7/1.8 reads it from row 0 of the
# state's logits after the prompt's decode, but that decode copies out only the last prompt
# token's row (`batch.logits`), so row 0 holds whatever the previous decode step left there, and
# it is not the SOT position either when a prompt (`--prompt`) comes first. The value was ≈ 0 on
# almost every window and now and then a stale 0.9 (measured 2026-12-06 on 50 music tracks:
# 273 segments, all at 0.000), so the no-speech checks of whisper.cpp (skip a window that is
# no speech at a low log-probability), of OpenAI Whisper and of `src/transcribe.rs` did not work.
# Upstream has the same fix open (https://github.com/ggml-org/whisper.cpp/pull/3945, #4068).
# Here the prompt's decode also copies out the SOT position's row, and the probability is read
# from it; the graph computes every row's logits already, so it costs one 200 KB copy a window.
_callscribe_edit("${CMAKE_CURRENT_SOURCE_DIR}/src/whisper.cpp"
    "whisper.cpp's no-speech probability at the SOT position"
    "                whisper_batch_prep_legacy(state->batch, prompt.data(), prompt.size(), 0, 0);

                if (!whisper_decode_internal(*ctx, *state, state->batch, params.n_threads, false, params.abort_callback, params.abort_callback_user_data)) {
                    WHISPER_LOG_ERROR(\"%s: failed to decode\\n\", __func__);
                    return -8;
                }

                // Calculate no_speech probability after first decode.
                // This has to be done before any logit filtering. Hence we cannot use the probs from the whisper_process_logits.
                {
                    const int n_logits = ctx->vocab.id_to_token.size();
                    std::vector<float> logprobs(n_logits);
                    std::vector<float> probs(n_logits);

                    whisper_compute_logprobs(state->logits, n_logits, logprobs);
                    whisper_compute_probs(state->logits, n_logits, logprobs, probs);"
    "                whisper_batch_prep_legacy(state->batch, prompt.data(), prompt.size(), 0, 0);
                // callscribe: .cargo/ggml-cpu-edits.cmake (the no-speech probability is read at
                // the SOT position, as OpenAI Whisper reads it; its row is copied out too).
                const int sot_index = (int) (prompt.size() - prompt_init.size());
                state->batch.logits[sot_index] = 1;

                if (!whisper_decode_internal(*ctx, *state, state->batch, params.n_threads, false, params.abort_callback, params.abort_callback_user_data)) {
                    WHISPER_LOG_ERROR(\"%s: failed to decode\\n\", __func__);
                    return -8;
                }

                // Calculate no_speech probability after first decode.
                // This has to be done before any logit filtering. Hence we cannot use the probs from the whisper_process_logits.
                {
                    const int n_logits = ctx->vocab.id_to_token.size();
                    const size_t n_vocab = (size_t) ctx->model.hparams.n_vocab;
                    std::vector<float> sot_logits(n_logits, -INFINITY);
                    std::copy_n(state->logits.begin() + sot_index*n_vocab, std::min((size_t) n_logits, n_vocab), sot_logits.begin());
                    std::vector<float> logprobs(n_logits);
                    std::vector<float> probs(n_logits);

                    whisper_compute_logprobs(sot_logits, n_logits, logprobs);
                    whisper_compute_probs(sot_logits, n_logits, logprobs, probs);")

# 13. A window the encoder reads whole sees zeros past the audio, as OpenAI Whisper and
# faster-whisper give it. All three append 30 s of zero samples before the transform, but the
# references then cut the spectrogram at the audio's end and pad a window that runs past it with
# zeros of the normalised spectrogram (`pad_or_trim` of the features in OpenAI Whisper's
# `transcribe` and faster-whisper's `generate_segments`), where whisper.cpp keeps the frames of
# the zero samples, at the clamp floor (the loudest value less 8, normalised). Here, when a
# `whisper_full` reads the whole window (`audio_ctx` 0, or within 16 positions of the model's
# 1,500: callscribe's full context of 1,488, never the 1,472 at most of a piece at its own
# context), the frames from the audio's end on (`n_len_org`) are set to 0 before any encoder
# pass; the language read from that window (`whisper_lang_auto_detect` on the same state) sees
# them too, as faster-whisper's detection does. A window cut short at the clip's end plus 1.3 s
# keeps whisper.cpp's floor: zeros there cost tiny.en 4 points of WER on the samples. Measured
# 2026-12-07 on the Zen 4 EPYC with base q8_0 and `auto` (the first piece of a recording is
# decoded at full context): 33 Spanish messages 12.04 → 11.85 % WER, 33 French 17.56 →
# 17.14 %, 90 English (the wide pool) 13.83 → 13.73 %, every language decided as before
# (BENCHMARKS.md, "The language decision on 99 messages").
_callscribe_edit("${CMAKE_CURRENT_SOURCE_DIR}/src/whisper.cpp"
    "whisper.cpp's whole-window passes see zeros past the audio"
    "    state->exp_n_audio_ctx = params.audio_ctx;

    // these tokens determine the task that will be performed"
    "    state->exp_n_audio_ctx = params.audio_ctx;

    // callscribe: .cargo/ggml-cpu-edits.cmake (a window read whole sees zeros past the audio, as
    // OpenAI Whisper and faster-whisper give the model a window longer than the audio).
    if (params.audio_ctx == 0 || params.audio_ctx + 16 >= whisper_n_audio_ctx(ctx)) {
        auto & mel = state->mel;
        const int from = std::max(0, std::min(mel.n_len, mel.n_len_org));
        for (int j = 0; j < mel.n_mel; ++j) {
            std::fill(mel.data.begin() + (size_t) j*mel.n_len + from, mel.data.begin() + (size_t) (j + 1)*mel.n_len, 0.0f);
        }
    }

    // these tokens determine the task that will be performed")
