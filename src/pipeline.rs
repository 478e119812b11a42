//! The pipeline: builds the stages once and chains them for each recording. This is the only
//! place the stages are called in sequence.
//!
//! ```text
//! bytes ─ decode ─▶ Pcm ─ resample ─▶ Mono16k ─ trim ─▶ span ─ transcribe ─▶ Transcript
//!       ─ entities (find, redact) ─▶ RecordingResult
//! ```
//!
//! Redaction happens here, before the result is returned: the unredacted transcript exists
//! only inside [`Pipeline::run`], and nothing downstream (sinks, logs, the callback) sees it.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use zeroize::Zeroizing;

use crate::audio::{MediaBytes, Mono16k, Seconds};
use crate::config::PipelineConfig;
use crate::decode::{self, Decoded};
use crate::error::{Error, Limit, Result};
use crate::resample;
use crate::result::{
    AudioReport, BeepReport, ErrorInfo, NoSpeechReason, RecordingResult, Source, Stage, Status,
    StopToneReport, Timings, SCHEMA,
};
use crate::trim::{self, SpeechReport};

/// A built pipeline: configuration plus the expensive shared parts (the Whisper model). Build
/// it once and share it (`&Pipeline` is `Sync`); each job only borrows it.
pub struct Pipeline {
    config: PipelineConfig,
    /// Entities and redaction, run on every transcript (so unused without transcription).
    #[cfg_attr(not(feature = "whisper"), allow(dead_code))]
    annotator: crate::entities::Annotator,
    #[cfg(feature = "whisper")]
    transcriber: Option<crate::transcribe::Transcriber>,
}

/// How one recording is run. `RunOptions::default()` is what [`Pipeline::process`] uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Also return the cleaned 16 kHz speech span ([`Processed::speech`]), e.g. to write it
    /// with `--keep-audio`. Default: false (no media leaves the pipeline).
    pub keep_speech: bool,
    /// Whisper threads for this recording; 0 = the configured `transcribe.threads`, which
    /// when 0 too means every core ([`crate::config::threads_per_job`]). Default: 0.
    pub threads: u32,
}

/// A finished job: the result, and the cleaned speech when the caller asked to keep it.
pub struct Processed {
    /// The JSON result.
    pub result: RecordingResult,
    /// The 16 kHz mono speech span (only with `keep_speech`), zeroized on drop.
    pub speech: Option<Mono16k>,
}

impl Pipeline {
    /// Builds the pipeline; loads the Whisper model when transcription is enabled.
    ///
    /// Errors: `config` when transcription is enabled but the model can't be loaded (or the
    /// crate was built without the `whisper` feature), when `trim.vad_model` names a file that
    /// is not Silero VAD v6's ONNX file, or when the entities' default region is unknown.
    pub fn new(config: PipelineConfig) -> Result<Self> {
        if let Some(path) = &config.trim.vad_model {
            trim::load_vad_model(path)?;
        }
        let new_annotator = || crate::entities::Annotator::new(&config.entities, &config.redact);
        #[cfg(feature = "whisper")]
        let (annotator, transcriber) = if config.transcribe.enabled {
            // The annotator loads libphonenumber's metadata (compiling its regexes) on another
            // core while this one reads the model. Measured 2026-12-04 (base q8_0, 2 cores): a
            // `process` run of a 10 s message 0.61 s → 0.52 s, of a 47 s one 1.91 s → 1.83 s.
            // Errors come in the order they did one after the other.
            let (annotator, transcriber) = std::thread::scope(|scope| {
                let annotator = scope.spawn(new_annotator);
                let transcriber = crate::transcribe::Transcriber::load(&config.transcribe);
                let annotator = annotator
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (annotator, transcriber)
            });
            (annotator?, Some(transcriber?))
        } else {
            (new_annotator()?, None)
        };
        #[cfg(not(feature = "whisper"))]
        let annotator = new_annotator()?;
        #[cfg(not(feature = "whisper"))]
        if config.transcribe.enabled {
            return Err(Error::Config {
                detail: "transcription needs the `whisper` feature; pass --no-transcribe".into(),
            });
        }
        Ok(Self {
            config,
            annotator,
            #[cfg(feature = "whisper")]
            transcriber,
        })
    }

    /// The configuration this pipeline was built with.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Processes one recording held in memory. Never fails: errors become a `failed` result.
    pub fn process(&self, bytes: &[u8], source: Source) -> RecordingResult {
        self.run(bytes, source, &RunOptions::default()).result
    }

    /// Reads a file (bounded by the byte limit) and processes it; `source.path` names it.
    pub fn process_file(&self, path: &Path) -> RecordingResult {
        self.run_file(path, &RunOptions::default()).result
    }

    /// Like [`Pipeline::process_file`], with [`RunOptions`].
    pub fn run_file(&self, path: &Path, options: &RunOptions) -> Processed {
        self.finish(Self::hear_file(&self.config, path), options)
    }

    /// Runs every stage on one recording held in memory, with [`RunOptions`].
    pub fn run(&self, bytes: &[u8], source: Source, options: &RunOptions) -> Processed {
        self.finish(Self::hear(&self.config, bytes, source), options)
    }

    /// The stages before the model for a file: read (bounded by the byte limit), decode,
    /// resample, find the speech. They need only the configuration, so they can run while
    /// the pipeline that will [`finish`](Pipeline::finish) the recording is being built
    /// ([`crate::batch::build_and_run`]).
    pub fn hear_file(config: &PipelineConfig, path: &Path) -> Heard {
        let source = Source {
            path: Some(path.display().to_string()),
            ..Source::default()
        };
        let started = Instant::now();
        match read_bounded(path, config.limits.max_bytes) {
            Ok(bytes) => {
                let read_ms = ms_since(started);
                let mut heard = Self::hear(config, &bytes, source);
                if let Ok(stages) = &mut heard.read {
                    stages.timings.set(Stage::Read, read_ms);
                }
                heard
            }
            Err(e) => Heard {
                source,
                read: Err(e),
            },
        }
    }

    /// The stages before the model for a recording held in memory.
    fn hear(config: &PipelineConfig, bytes: &[u8], source: Source) -> Heard {
        let started = Instant::now();
        let mut timings = Timings::default();
        let front = Self::front(config, bytes, source.path.as_deref(), &mut timings);
        Heard {
            source,
            read: Ok(Listened {
                timings,
                busy_ms: ms_since(started),
                front,
            }),
        }
    }

    /// Finishes a recording from [`Pipeline::hear_file`]: transcription (when enabled), the
    /// entities, the status. Never fails: errors become a `failed` result.
    pub fn finish(&self, heard: Heard, options: &RunOptions) -> Processed {
        let Heard { source, read } = heard;
        let Listened {
            mut timings,
            busy_ms,
            front,
        } = match read {
            Ok(stages) => stages,
            Err(e) => {
                return Processed {
                    result: RecordingResult::failed(source, ErrorInfo::from(&e)),
                    speech: None,
                }
            }
        };
        let started = Instant::now();
        let outcome = front.and_then(|front| {
            self.back(
                front,
                source.client_context.as_deref(),
                &mut timings,
                options,
            )
        });
        // Total: the stages' own time, not a wait between hearing and finishing.
        timings.set(Stage::Total, round_us(busy_ms + ms_since(started)));
        match outcome {
            Ok(done) => Processed {
                result: RecordingResult {
                    schema: SCHEMA.to_owned(),
                    status: done.status,
                    reason: done.reason,
                    error: None,
                    source,
                    audio: Some(done.audio),
                    transcript: done.transcript,
                    timings_ms: timings,
                },
                speech: done.speech,
            },
            Err(failure) => {
                let StageFailure { error, audio } = *failure;
                tracing::info!(error_kind = %error.kind(), "recording failed: {error}");
                let mut result = RecordingResult::failed(source, ErrorInfo::from(&error));
                result.audio = audio;
                result.timings_ms = timings;
                Processed {
                    result,
                    speech: None,
                }
            }
        }
    }

    /// Decode (`name`: the recording's path, whose extension names the headerless formats:
    /// [`decode::decode_named`]), resample, find the speech.
    fn front(
        config: &PipelineConfig,
        bytes: &[u8],
        name: Option<&str>,
        timings: &mut Timings,
    ) -> std::result::Result<Front, Box<StageFailure>> {
        let fail = |error: Error| Box::new(StageFailure { error, audio: None });
        let t = Instant::now();
        let Decoded {
            pcm,
            info,
            clipped_ratio,
        } = decode::decode_named(bytes, name, &config.limits).map_err(fail)?;
        timings.set(Stage::Decode, ms_since(t));

        let t = Instant::now();
        let mono = resample::to_mono16k(pcm).map_err(fail)?;
        timings.set(Stage::Resample, ms_since(t));

        let t = Instant::now();
        let speech = trim::find_speech(&mono, &config.trim);
        timings.set(Stage::Trim, ms_since(t));

        let audio = audio_report(&info, clipped_ratio, &speech);
        Ok(Front {
            mono,
            speech,
            audio,
        })
    }

    /// Transcribe, annotate, decide the status.
    fn back(
        &self,
        front: Front,
        client_context: Option<&str>,
        timings: &mut Timings,
        options: &RunOptions,
    ) -> std::result::Result<StagesDone, Box<StageFailure>> {
        let Front {
            mono,
            speech,
            audio,
        } = front;
        let transcript = self
            .transcribe(&mono, &speech, options.threads, client_context, timings)
            .map_err(|error| {
                Box::new(StageFailure {
                    error,
                    audio: Some(audio.clone()),
                })
            })?;
        // The no-speech rule of `NoSpeechReason`: voice activity first, then words.
        let reason = if speech.span.is_none() && speech.music_s > 0.0 {
            Some(NoSpeechReason::Music)
        } else if speech.span.is_none() {
            Some(NoSpeechReason::NoVoiceActivity)
        } else if transcript.as_ref().is_some_and(|t| t.segments.is_empty()) {
            Some(NoSpeechReason::NoWords)
        } else {
            None
        };
        let status = if reason.is_some() {
            Status::NoSpeech
        } else {
            Status::Ok
        };
        let kept = match (options.keep_speech, speech.span) {
            (true, Some(span)) => Some(Mono16k::from_samples(Zeroizing::new(
                mono.slice(Seconds(span.start_s), Seconds(span.end_s))
                    .to_vec(),
            ))),
            _ => None,
        };
        Ok(StagesDone {
            audio,
            transcript,
            status,
            reason,
            speech: kept,
        })
    }

    #[cfg(feature = "whisper")]
    fn transcribe(
        &self,
        mono: &Mono16k,
        speech: &SpeechReport,
        threads: u32,
        client_context: Option<&str>,
        timings: &mut Timings,
    ) -> Result<Option<crate::result::Transcript>> {
        let Some(transcriber) = &self.transcriber else {
            return Ok(None);
        };
        let t = Instant::now();
        let mut transcript = transcriber.transcribe(mono, speech, threads, client_context)?;
        timings.set(Stage::Transcribe, ms_since(t));
        for segment in &mut transcript.segments {
            crate::words::fit(segment);
        }
        self.annotator.annotate(&mut transcript);
        Ok(Some(transcript))
    }

    #[cfg(not(feature = "whisper"))]
    fn transcribe(
        &self,
        _mono: &Mono16k,
        _speech: &SpeechReport,
        _threads: u32,
        _client_context: Option<&str>,
        _timings: &mut Timings,
    ) -> Result<Option<crate::result::Transcript>> {
        Ok(None)
    }
}

/// A recording after the stages before the model ([`Pipeline::hear_file`]), for
/// [`Pipeline::finish`]. Its audio is zeroized when it is dropped.
pub struct Heard {
    source: Source,
    /// `Err`: the file could not be read, and no stage ran.
    read: Result<Listened>,
}

/// The stages before the model, run on a recording's bytes.
struct Listened {
    timings: Timings,
    /// Time spent in those stages, in ms.
    busy_ms: f64,
    front: std::result::Result<Front, Box<StageFailure>>,
}

/// What the stages before the model produced.
struct Front {
    mono: Mono16k,
    speech: SpeechReport,
    audio: AudioReport,
}

/// What the stages produced for a recording that did not fail.
struct StagesDone {
    audio: AudioReport,
    transcript: Option<crate::result::Transcript>,
    status: Status,
    reason: Option<NoSpeechReason>,
    speech: Option<Mono16k>,
}

/// A stage's error, with the audio report when decoding got that far.
struct StageFailure {
    error: Error,
    audio: Option<AudioReport>,
}

fn audio_report(
    info: &decode::MediaInfo,
    clipped_ratio: f64,
    speech: &SpeechReport,
) -> AudioReport {
    AudioReport {
        container: info.container.clone(),
        codec: info.codec.clone(),
        sample_rate: info.sample_rate,
        channels: info.channels,
        duration_s: round_ms(info.duration_s),
        truncated: info.truncated,
        speech_start_s: speech.span.map(|s| round_ms(s.start_s)),
        speech_end_s: speech.span.map(|s| round_ms(s.end_s)),
        speech_s: speech.span.map_or(0.0, |s| round_ms(s.end_s - s.start_s)),
        segments: speech
            .segments
            .iter()
            .map(|s| trim::Segment {
                start_s: round_ms(s.start_s),
                end_s: round_ms(s.end_s),
            })
            .collect(),
        peak_dbfs: speech.peak_dbfs.map(round_cb),
        rms_dbfs: speech.rms_dbfs.map(round_cb),
        clipped_ratio,
        beep: speech.beep.map(|b| BeepReport {
            start_s: round_ms(b.start_s),
            end_s: round_ms(b.end_s),
            freq_hz: b.freq_hz.round(),
        }),
        stop_tone: speech.stop_tone.map(|t| StopToneReport {
            key: t.key.to_string(),
            start_s: round_ms(t.start_s),
            end_s: round_ms(t.end_s),
        }),
    }
}

/// Reads a whole file into a zeroizing buffer, refusing files over `max_bytes` before reading.
pub(crate) fn read_bounded(path: &Path, max_bytes: u64) -> Result<MediaBytes> {
    let context = || path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(context(), e))?;
    let len = file.metadata().map_err(|e| Error::io(context(), e))?.len();
    if len > max_bytes {
        return Err(Error::TooLarge {
            what: Limit::Bytes,
            actual: len,
            limit: max_bytes,
        });
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize));
    // `take` also bounds files that grow while being read (or lie about their size: pipes).
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(context(), e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(Error::TooLarge {
            what: Limit::Bytes,
            actual: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(bytes)
}

/// Milliseconds since `t`, rounded to the microsecond (the unit of `timings_ms`).
pub(crate) fn ms_since(t: Instant) -> f64 {
    round_us(t.elapsed().as_secs_f64() * 1e3)
}

/// Milliseconds rounded to the microsecond.
fn round_us(ms: f64) -> f64 {
    (ms * 1e3).round() / 1e3
}

/// Seconds rounded to the millisecond: finer is noise, and it keeps the JSON short.
pub(crate) fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// Decibels rounded to 0.01 dB.
fn round_cb(db: f64) -> f64 {
    (db * 100.0).round() / 100.0
}
