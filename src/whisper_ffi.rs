//! The two whisper.cpp callbacks whisper-rs 0.16 has no safe form of: the encoder-begin hook
//! that ends `whisper_full` after its first window (or before it), and the log hook that says
//! so quietly.
//!
//! This is the crate's only `unsafe` code. Each callback reads what its pointers point to and
//! nothing else; the reasoning is written at each block.

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

use whisper_rs::whisper_rs_sys::{self, ggml_log_level};
use whisper_rs::FullParams;

/// What whisper.cpp logs (at error level) when [`first_window_only`]'s callback stops it: the
/// expected outcome here, so it is logged at debug level.
const FIRST_WINDOW_STOP: &str = "encoder_begin_callback returned false";

/// Makes `whisper_full` with `params` stop before its second encoder window, counting the
/// windows it asked for in `windows`, which must outlive that call: above 1 means whisper.cpp
/// wanted to go on from its last timestamp. A count that starts at 1 stops it before its first
/// window: the call then only computes the clip's log-mel spectrogram and sets the state's
/// encoder context (`audio_ctx`), which no other whisper.cpp function sets.
///
/// The encoder-begin callback is the hook whisper.cpp provides for this: `whisper_full` stops
/// and keeps the segments decoded so far (its abort callback would fail the whole call).
#[allow(unsafe_code)]
pub(crate) fn first_window_only(params: &mut FullParams<'_, '_>, windows: &AtomicU32) {
    unsafe extern "C" fn on_encoder_begin(
        _: *mut whisper_rs::WhisperSysContext,
        _: *mut whisper_rs::WhisperSysState,
        user_data: *mut c_void,
    ) -> bool {
        // SAFETY: `user_data` is the `&AtomicU32` given below, alive for the whole
        // `whisper_full` call that runs this callback.
        let windows = unsafe { &*(user_data as *const AtomicU32) };
        windows.fetch_add(1, Ordering::Relaxed) == 0
    }
    // SAFETY: the callback touches neither whisper.cpp's context nor its state, and its user
    // data outlives the call (the caller's contract above).
    unsafe {
        params.set_start_encoder_callback(Some(on_encoder_begin));
        params.set_start_encoder_callback_user_data(windows as *const AtomicU32 as *mut c_void);
    }
}

/// Routes whisper.cpp's log, and ggml's (whisper.cpp passes its hook on), into `tracing`
/// (target `whisper_cpp`) as `whisper_rs::install_logging_hooks` does, except that
/// [`FIRST_WINDOW_STOP`] is a debug message rather than an error. Once per process.
#[allow(unsafe_code)]
pub(crate) fn install_logging() {
    static INSTALL: Once = Once::new();
    unsafe extern "C" fn on_log(level: ggml_log_level, text: *const c_char, _: *mut c_void) {
        if text.is_null() {
            return;
        }
        // SAFETY: whisper.cpp passes a NUL-terminated string that lives for this call.
        let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
        log(level, &text);
    }
    INSTALL.call_once(|| {
        // SAFETY: `on_log` neither panics nor unwinds (`log` only formats into `tracing`), and
        // it needs no user data.
        unsafe { whisper_rs::set_log_callback(Some(on_log), std::ptr::null_mut()) };
    });
}

fn log(level: ggml_log_level, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match level {
        whisper_rs_sys::ggml_log_level_GGML_LOG_LEVEL_ERROR
            if !text.contains(FIRST_WINDOW_STOP) =>
        {
            tracing::error!(target: "whisper_cpp", "{text}")
        }
        whisper_rs_sys::ggml_log_level_GGML_LOG_LEVEL_WARN => {
            tracing::warn!(target: "whisper_cpp", "{text}")
        }
        whisper_rs_sys::ggml_log_level_GGML_LOG_LEVEL_INFO => {
            tracing::info!(target: "whisper_cpp", "{text}")
        }
        _ => tracing::debug!(target: "whisper_cpp", "{text}"),
    }
}
