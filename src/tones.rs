//! Beep and DTMF tone detection (stub until the detector lands).

/// A detected leading beep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beep {
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
    /// Frequency in Hz.
    pub freq_hz: f64,
}
/// A detected DTMF key press.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfTone {
    /// Key.
    pub key: char,
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
}
/// Stub.
pub fn find_leading_beep(_samples: &[f32], _search_s: f64) -> Option<Beep> {
    None
}
/// Stub.
pub fn find_stop_tone(_samples: &[f32], _tail_s: f64) -> Option<DtmfTone> {
    None
}
