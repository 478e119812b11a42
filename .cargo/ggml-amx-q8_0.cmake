# Included before every project() of whisper.cpp's build (CMAKE_PROJECT_INCLUDE_BEFORE, set in
# .cargo/config.toml and passed on by whisper-rs-sys, which forwards every CMAKE_* variable).
#
# It edits the copy of whisper.cpp that whisper-rs-sys makes in its build directory (never the
# registry's source) so that ggml's AMX kernels take q8_0 weights of any width that is a whole
# number of q8_0 blocks. ggml 0.9.5, the one whisper-rs-sys 0.15 ships, takes a weight into its
# AMX buffer only when its row is a multiple of 2,048 values: a stop-gap of
# https://github.com/ggml-org/llama.cpp/pull/16315 against wrong results with Q4_0 and Q4_1,
# which upstream lifted again in https://github.com/ggml-org/llama.cpp/pull/19867. In Whisper
# base (width 512) only the MLP output projections qualified; with this, every q8_0 projection
# of the encoder and the decoder runs on AMX (AVX512-VNNI for one row at a time). Measured
# 2026-12-04 with base q8_0, 2 threads, on a CPU with AMX: a long message 15–20 % faster, the
# transcripts the same to a letter or two (BENCHMARKS.md, "Where the time goes"). CPUs without
# AMX and f16 models build and run as before: the AMX code is compiled only for a CPU with AMX
# (GGML_NATIVE), and the check is unchanged for every type but q8_0.
#
# If a later whisper-rs-sys changes the line, this says so and leaves the file as it is.
foreach(_callscribe_root "${CMAKE_CURRENT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/ggml")
    set(_callscribe_amx "${_callscribe_root}/src/ggml-cpu/amx/amx.cpp")
    if(NOT EXISTS "${_callscribe_amx}")
        continue()
    endif()
    file(READ "${_callscribe_amx}" _callscribe_text)
    set(_callscribe_old "op->src[0]->ne[0] % (TILE_K * 2 * 32) == 0 &&")
    set(_callscribe_new "op->src[0]->ne[0] % (op->src[0]->type == GGML_TYPE_Q8_0 ? TILE_K : TILE_K * 2 * 32) == 0 && /* callscribe: .cargo/ggml-amx-q8_0.cmake */")
    string(FIND "${_callscribe_text}" "${_callscribe_new}" _callscribe_done)
    string(FIND "${_callscribe_text}" "${_callscribe_old}" _callscribe_at)
    if(_callscribe_done GREATER -1)
        # Already edited by an earlier project() of the same build.
    elseif(_callscribe_at GREATER -1)
        string(REPLACE "${_callscribe_old}" "${_callscribe_new}" _callscribe_text "${_callscribe_text}")
        file(WRITE "${_callscribe_amx}" "${_callscribe_text}")
        message(STATUS "callscribe: ggml AMX kernels take q8_0 weights of any width")
    else()
        message(WARNING "callscribe: ${_callscribe_amx} has changed; AMX for q8_0 left as ggml has it")
    endif()
endforeach()
