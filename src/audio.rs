//! Audio buffers passed between stages, and the unit newtypes that keep seconds and samples apart.
//!
//! Every buffer that holds caller media zeroizes its memory when dropped: recordings may not be
//! persisted, and freed heap pages can end up in core dumps or swap.

use zeroize::Zeroizing;

/// The sample rate every stage after [`crate::resample`] works at, in Hz (Whisper's and
/// earshot's rate).
pub const TARGET_RATE: u32 = 16_000;

/// Raw media bytes (a downloaded or read recording), zeroized on drop.
pub type MediaBytes = Zeroizing<Vec<u8>>;

/// A sample rate in Hz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SampleRate(pub u32);

impl SampleRate {
    /// The rate in Hz.
    pub fn hz(self) -> u32 {
        self.0
    }

    /// Converts a sample count at this rate into seconds.
    pub fn seconds(self, samples: usize) -> Seconds {
        Seconds(samples as f64 / f64::from(self.0))
    }

    /// Converts seconds into a (rounded) sample count at this rate.
    pub fn samples(self, seconds: Seconds) -> usize {
        (seconds.0 * f64::from(self.0)).round().max(0.0) as usize
    }
}

/// A duration or a position in seconds of the original recording.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Seconds(pub f64);

/// Decoded audio downmixed to one channel at the source's own sample rate, zeroized on drop.
///
/// The decoder downmixes while it decodes (the mean of all channels), so memory is bounded by
/// one channel whatever the source's channel count.
pub struct Pcm {
    /// Mono samples in `[-1, 1]` (float sources may exceed it slightly).
    pub samples: Zeroizing<Vec<f32>>,
    /// The source's sample rate.
    pub rate: SampleRate,
}

impl Pcm {
    /// The duration of the buffer.
    pub fn duration(&self) -> Seconds {
        self.rate.seconds(self.samples.len())
    }
}

impl std::fmt::Debug for Pcm {
    // Never print samples: they are caller media.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pcm")
            .field("samples", &self.samples.len())
            .field("rate", &self.rate)
            .finish()
    }
}

/// Mono audio at exactly 16 kHz, time-aligned with the original recording (sample `i` is at
/// `i / 16000` seconds of the original), zeroized on drop.
///
/// Only [`crate::resample::to_mono16k`] and [`Mono16k::from_samples`] build it, so a stage that
/// takes `&Mono16k` never has to check the rate.
pub struct Mono16k {
    samples: Zeroizing<Vec<f32>>,
}

impl Mono16k {
    /// Wraps samples that are already mono at 16 kHz.
    pub fn from_samples(samples: Zeroizing<Vec<f32>>) -> Self {
        Self { samples }
    }

    /// The samples.
    pub fn samples(&self) -> &[f32] {
        &self.samples
    }

    /// The rate, always [`TARGET_RATE`].
    pub fn rate(&self) -> SampleRate {
        SampleRate(TARGET_RATE)
    }

    /// The duration.
    pub fn duration(&self) -> Seconds {
        self.rate().seconds(self.samples.len())
    }

    /// The samples between two times (clamped to the buffer).
    pub fn slice(&self, start: Seconds, end: Seconds) -> &[f32] {
        let len = self.samples.len();
        let a = self.rate().samples(start).min(len);
        let b = self.rate().samples(end).clamp(a, len);
        &self.samples[a..b]
    }
}

impl std::fmt::Debug for Mono16k {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mono16k")
            .field("samples", &self.samples.len())
            .finish()
    }
}

/// Appends to a zeroizing buffer without leaving an unzeroized copy behind.
///
/// `Vec`'s own growth reallocates and frees the old block without clearing it; here growth
/// copies into a fresh `Zeroizing` buffer and lets the old one be wiped on drop.
pub(crate) fn extend_zeroizing<T: Copy + Default + zeroize::Zeroize>(
    buf: &mut Zeroizing<Vec<T>>,
    data: &[T],
) {
    reserve_zeroizing(buf, data.len());
    buf.extend_from_slice(data);
}

/// Appends `n` default values to a zeroizing buffer (to be overwritten in place) without
/// leaving an unzeroized copy behind; returns the new tail.
pub(crate) fn grow_zeroizing<T: Copy + Default + zeroize::Zeroize>(
    buf: &mut Zeroizing<Vec<T>>,
    n: usize,
) -> &mut [T] {
    reserve_zeroizing(buf, n);
    let start = buf.len();
    buf.resize(start + n, T::default());
    &mut buf[start..]
}

/// Makes room for `additional` more elements, moving into a fresh `Zeroizing` buffer (the old
/// one is wiped on drop) rather than letting `Vec` reallocate.
fn reserve_zeroizing<T: Copy + Default + zeroize::Zeroize>(
    buf: &mut Zeroizing<Vec<T>>,
    additional: usize,
) {
    let needed = buf.len() + additional;
    if needed > buf.capacity() {
        let mut grown = Zeroizing::new(Vec::with_capacity(needed.max(buf.capacity() * 2)));
        grown.extend_from_slice(buf);
        *buf = grown;
    }
}
