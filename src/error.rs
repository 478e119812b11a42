//! The one error type of the audio pipeline, with stable machine-readable kinds.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable, machine-readable name of an error, written as `error.kind` in every result.
///
/// The names are part of the result schema (`callscribe.result/v1`): they never change meaning,
/// and new ones are only added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The bytes are not a container/codec callscribe decodes (Opus, text, HTML, random bytes,
    /// a WAV in G.729 or another codec its readers do not take).
    UnsupportedFormat,
    /// The container was recognised but no usable audio could be decoded from it.
    CorruptMedia,
    /// The input holds no bytes or no audio frames at all.
    EmptyMedia,
    /// The input exceeds a size limit: bytes, channels or sample rate.
    TooLarge,
    /// The decoded audio is longer than the duration limit.
    TooLong,
    /// Reading an input file or writing an output failed.
    Io,
    /// The speech-to-text stage failed (model missing, whisper.cpp error).
    Transcription,
    /// The configuration is invalid (bad option value, model file not found).
    Config,
    /// A Graph notification body could not be understood.
    InvalidNotification,
    /// Graph reported the record operation as failed, or completed without a recording.
    OperationFailed,
    /// The recording URL is refused by the download policy (scheme, host, resolved address).
    BlockedUrl,
    /// The media server refused the access token (HTTP 401 or 403).
    Unauthorized,
    /// The recording no longer exists (HTTP 404 or 410).
    NotFound,
    /// The download failed for another reason, after retries.
    DownloadFailed,
    /// The download did not finish within its deadline or stalled.
    DownloadTimeout,
    /// The server sent fewer bytes than it announced, even after retries.
    DownloadIncomplete,
    /// `serve` with a shared queue: the job's workers kept dying (or stopped renewing their
    /// claim) and it was taken over more often than `redis.max_takeovers` allows.
    WorkerLost,
    /// `serve` with a shared queue: the job waited longer than `redis.job_max_age_s`, past
    /// the few minutes Graph keeps a recording, so it was not downloaded.
    Expired,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 18] = [
        Self::UnsupportedFormat,
        Self::CorruptMedia,
        Self::EmptyMedia,
        Self::TooLarge,
        Self::TooLong,
        Self::Io,
        Self::Transcription,
        Self::Config,
        Self::InvalidNotification,
        Self::OperationFailed,
        Self::BlockedUrl,
        Self::Unauthorized,
        Self::NotFound,
        Self::DownloadFailed,
        Self::DownloadTimeout,
        Self::DownloadIncomplete,
        Self::WorkerLost,
        Self::Expired,
    ];

    /// The snake_case name used in JSON (`"too_large"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnsupportedFormat => "unsupported_format",
            Self::CorruptMedia => "corrupt_media",
            Self::EmptyMedia => "empty_media",
            Self::TooLarge => "too_large",
            Self::TooLong => "too_long",
            Self::Io => "io",
            Self::Transcription => "transcription",
            Self::Config => "config",
            Self::InvalidNotification => "invalid_notification",
            Self::OperationFailed => "operation_failed",
            Self::BlockedUrl => "blocked_url",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::DownloadFailed => "download_failed",
            Self::DownloadTimeout => "download_timeout",
            Self::DownloadIncomplete => "download_incomplete",
            Self::WorkerLost => "worker_lost",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which limit of [`crate::config::Limits`] an input exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Input size in bytes.
    Bytes,
    /// Number of channels.
    Channels,
    /// Sample rate in Hz.
    SampleRate,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bytes => "bytes",
            Self::Channels => "channels",
            Self::SampleRate => "sample rate (Hz)",
        })
    }
}

/// An error that ends the processing of one recording.
///
/// Display texts are lowercase without a trailing period and never contain a token, a URL query
/// string or audio bytes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// See [`ErrorKind::UnsupportedFormat`].
    #[error("unsupported format: {detail}")]
    UnsupportedFormat {
        /// What was recognised, or why nothing was.
        detail: String,
    },
    /// See [`ErrorKind::CorruptMedia`].
    #[error("corrupt media: {detail}")]
    CorruptMedia {
        /// What the decoder reported.
        detail: String,
    },
    /// See [`ErrorKind::EmptyMedia`].
    #[error("empty media: {detail}")]
    EmptyMedia {
        /// Whether the bytes or the audio were empty.
        detail: String,
    },
    /// See [`ErrorKind::TooLarge`].
    #[error("input too large: {what} is {actual}, the limit is {limit}")]
    TooLarge {
        /// The limit that was exceeded.
        what: Limit,
        /// The value found (or claimed by the header).
        actual: u64,
        /// The configured limit.
        limit: u64,
    },
    /// See [`ErrorKind::TooLong`].
    #[error("audio too long: more than {limit_s} s (found at least {actual_s:.1} s)")]
    TooLong {
        /// Duration decoded or claimed, in seconds.
        actual_s: f64,
        /// The configured limit in seconds.
        limit_s: f64,
    },
    /// See [`ErrorKind::Io`].
    #[error("{context}: {source}")]
    Io {
        /// What was being read or written (a path, never a URL).
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// See [`ErrorKind::Transcription`].
    #[error("transcription failed: {detail}")]
    Transcription {
        /// What whisper.cpp or the model loader reported.
        detail: String,
    },
    /// See [`ErrorKind::Config`].
    #[error("invalid configuration: {detail}")]
    Config {
        /// Which setting and why.
        detail: String,
    },
}

impl Error {
    /// The stable kind written as `error.kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnsupportedFormat { .. } => ErrorKind::UnsupportedFormat,
            Self::CorruptMedia { .. } => ErrorKind::CorruptMedia,
            Self::EmptyMedia { .. } => ErrorKind::EmptyMedia,
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::TooLong { .. } => ErrorKind::TooLong,
            Self::Io { .. } => ErrorKind::Io,
            Self::Transcription { .. } => ErrorKind::Transcription,
            Self::Config { .. } => ErrorKind::Config,
        }
    }

    /// Shorthand for an [`Error::Io`] with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for the pipeline's stages.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_match_serde_names() {
        for kind in ErrorKind::ALL {
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: ErrorKind = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, kind);
        }
    }
}
