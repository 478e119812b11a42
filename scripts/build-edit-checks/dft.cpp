// Compares whisper.cpp's spectrogram FFT as whisper.cpp ships it (namespace shipped) with the same
// code after .cargo/ggml-cpu-edits.cmake (namespace edited) on 400-sample frames: every output
// must be the same 32 bits. Built with whisper.cpp's own flags (baseline x86-64) and run by
// scripts/check-build-edits.sh; exits 1 on any difference.
#include <emmintrin.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#define WHISPER_N_FFT 400

namespace shipped {
#include "fft-shipped.inc"
}
namespace edited {
#include "fft-edited.inc"
}

int main() {
    std::mt19937 rng(20261205);
    std::normal_distribution<float> speech(0.0f, 0.1f);
    std::uniform_real_distribution<float> wide(-1.0f, 1.0f);
    size_t outputs = 0;
    size_t differ = 0;
    for (int frame = 0; frame < 20000; ++frame) {
        // As whisper.cpp's worker: a Hann-windowed frame in a buffer twice its size, scratch after.
        std::vector<float> in_a(WHISPER_N_FFT * 2, 0.0f), out_a(WHISPER_N_FFT * 8, 0.0f);
        for (int i = 0; i < WHISPER_N_FFT; ++i) {
            float x = frame % 4 == 0 ? speech(rng) : wide(rng);
            if (frame % 97 == 1) {
                x *= 1e-38f;  // subnormal products
            } else if (frame % 89 == 2) {
                x = i == frame % WHISPER_N_FFT ? 1.0f : 0.0f;  // an impulse
            } else if (frame % 83 == 3) {
                x *= 3e30f;  // sums that overflow to infinity
            }
            in_a[i] = x;
        }
        std::vector<float> in_b = in_a, out_b = out_a;
        shipped::fft(in_a.data(), WHISPER_N_FFT, out_a.data());
        edited::fft(in_b.data(), WHISPER_N_FFT, out_b.data());
        for (int i = 0; i < WHISPER_N_FFT * 2; ++i) {
            differ += memcmp(&out_a[i], &out_b[i], sizeof(float)) != 0;
        }
        outputs += WHISPER_N_FFT * 2;
    }
    printf("spectrogram FFT: %zu outputs compared with whisper.cpp's own, %zu differ\n", outputs, differ);
    return differ ? 1 : 0;
}
