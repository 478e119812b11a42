//! Whisper's mel filterbank, computed as librosa does it, for the ggml file's filter section.

/// Whisper's audio sample rate in Hz (OpenAI `whisper/audio.py` `SAMPLE_RATE`).
pub(super) const WHISPER_SAMPLE_RATE: u32 = 16_000;
/// Whisper's STFT window in samples, 25 ms at 16 kHz (OpenAI `whisper/audio.py` `N_FFT`).
pub(super) const WHISPER_N_FFT: usize = 400;

/// Librosa's mel filterbank, `librosa.filters.mel(sr, n_fft, n_mels)` with its defaults
/// (fmin 0, fmax sr/2, Slaney mel scale, Slaney area normalisation, float32 output): row-major
/// `n_mels × (n_fft/2 + 1)`.
///
/// The arithmetic follows librosa step by step in f64, including its two roundings to f32
/// (the triangle weights are stored into a float32 array before the normalisation multiply),
/// so the result matches librosa (and so OpenAI's `mel_filters.npz`) bit for bit: checked
/// against librosa 0.11 for 80 and 128 bands.
pub(super) fn mel_filterbank(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    // Slaney's auditory-toolbox mel scale: linear below 1 kHz (3 mels per 200 Hz), then
    // logarithmic with a step of ln(6.4)/27 per mel.
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    let hz_to_mel = |hz: f64| {
        if hz >= MIN_LOG_HZ {
            MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep
        } else {
            hz / F_SP
        }
    };
    let mel_to_hz = |mel: f64| {
        if mel >= MIN_LOG_MEL {
            MIN_LOG_HZ * (logstep * (mel - MIN_LOG_MEL)).exp()
        } else {
            F_SP * mel
        }
    };

    let n_freqs = n_fft / 2 + 1;
    // np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n_fft * d)).
    let bin_hz = 1.0 / (n_fft as f64 * (1.0 / f64::from(sample_rate)));
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|k| k as f64 * bin_hz).collect();

    // mel_frequencies(n_mels + 2, 0, sr/2): np.linspace over mels (i * step + start, last
    // point exactly the stop), then back to Hz.
    let n_points = n_mels + 2;
    let min_mel = hz_to_mel(0.0);
    let max_mel = hz_to_mel(f64::from(sample_rate) / 2.0);
    let step = (max_mel - min_mel) / (n_points - 1) as f64;
    let mel_f: Vec<f64> = (0..n_points)
        .map(|i| {
            if i == n_points - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            }
        })
        .map(mel_to_hz)
        .collect();

    let mut weights = vec![0f32; n_mels * n_freqs];
    for (i, row) in weights.chunks_exact_mut(n_freqs).enumerate() {
        let (f0, f1, f2) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
        let (fdiff_lo, fdiff_hi) = (f1 - f0, f2 - f1);
        let enorm = 2.0 / (f2 - f0);
        for (w, &freq) in row.iter_mut().zip(&fft_freqs) {
            let lower = -(f0 - freq) / fdiff_lo;
            let upper = (f2 - freq) / fdiff_hi;
            let tri = 0f64.max(lower.min(upper)) as f32;
            *w = (f64::from(tri) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_filterbank_matches_librosa() {
        // Reference values from librosa 0.11.0 (numpy 2.4.6), produced once with
        //   python -c "import librosa; m = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)"
        // and printed as (mel row, fft bin, value, f32 bits). Over the whole 80 × 201 matrix
        // this implementation matched librosa bit for bit (checked once by comparing the
        // filters of the converted ggml-tiny.en.bin with numpy).
        let reference_80 = [
            (0, 1, 0.024_862_595, 0x3ccb_aca4),
            (1, 1, 0.001_990_822, 0x3b02_7873),
            (1, 2, 0.022_871_772, 0x3cbb_5d95),
            (10, 10, 0.019_908_218, 0x3ca3_168f),
            (10, 11, 0.004_954_375, 0x3ba2_584f),
            (40, 42, 0.005_411_105, 0x3bb1_4fa3),
            (40, 43, 0.014_735_566, 0x3c71_6d72),
            (40, 44, 0.006_518_19, 0x3bd5_968a),
            (79, 186, 0.000_366_741_67, 0x39c0_473c),
            (79, 187, 0.000_833_070_02, 0x3a5a_6262),
            (79, 188, 0.001_299_398_4, 0x3aaa_5093),
        ];
        let m = mel_filterbank(16_000, 400, 80);
        assert_eq!(m.len(), 80 * 201);
        for (row, bin, value, bits) in reference_80 {
            let got = m[row * 201 + bin];
            assert_eq!(
                got.to_bits(),
                bits,
                "mel[{row}][{bin}] = {got}, librosa {value}"
            );
        }
        // Row 0 is a single triangle peak at bin 1; row 40 spans bins 42..=44; row 79 186..=199.
        let nonzero = |row: usize| {
            let r = &m[row * 201..(row + 1) * 201];
            let first = r.iter().position(|&v| v != 0.0);
            let last = r.iter().rposition(|&v| v != 0.0);
            (first, last)
        };
        assert_eq!(nonzero(0), (Some(1), Some(1)));
        assert_eq!(nonzero(40), (Some(42), Some(44)));
        assert_eq!(nonzero(79), (Some(186), Some(199)));
        // Sum of the matrix per librosa: 1.9990242 (f32).
        let sum: f64 = m.iter().map(|&v| f64::from(v)).sum();
        assert!((sum - 1.999_024_2).abs() < 1e-5, "sum {sum}");

        // large-v3's 128 bands, same source: librosa.filters.mel(..., n_mels=128).
        let m = mel_filterbank(16_000, 400, 128);
        for (row, bin, bits) in [
            (0, 1, 0x3c4a_bc43),
            (64, 42, 0x3bdd_2c71),
            (127, 191, 0x39f9_66b7),
        ] {
            assert_eq!(m[row * 201 + bin].to_bits(), bits, "mel128[{row}][{bin}]");
        }
    }
}
