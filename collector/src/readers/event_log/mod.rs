//! Windows event logs (`Windows\System32\winevt\Logs\Application.evtx`, `System.evtx`), read
//! with the `evtx` crate: only the events that matter ([`filter`]) are shipped, with their data
//! named or positional, record id and time, and what they say as typed fields ([`facts`]). A damaged file (bad checksums, a bad chunk, a
//! record that cannot be read, a cut file) yields every record that can be read, and each
//! damage is a collection error located by file offset or record id.

pub mod facts;
pub mod filter;
pub mod kept;
pub mod record;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{ChunkFlags, EvtxChunkData, EvtxParser, ParserSettings};
use exfleet_proto::v1::artifact_status::State;

use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::Reader;
use crate::sink::Sink;

/// Reads the Application and System event logs.
pub struct EventLogs;

/// Events kept per log: a busy server's window holds thousands of 7036 state changes; beyond
/// this the oldest are dropped ([`kept`]) and counted in an error.
pub const MAX_EVENTS: usize = 50_000;
/// Bytes of events kept per log (encoded): a record holds up to a chunk (64 KiB) of data, so
/// the count alone does not bound a snapshot.
pub const MAX_EVENT_BYTES: usize = 16 << 20;
/// Damage recorded per log before the rest are only counted.
const MAX_ERRORS: usize = 20;
/// Size of the file header and of a chunk (the evtx format).
const FILE_HEADER: u64 = 4096;
const CHUNK: u64 = 65536;

/// A record as the scan hands it over.
#[derive(Debug)]
pub struct RecordRef<'a> {
    /// EventRecordID.
    pub record_id: u64,
    /// Time written (UTC ms).
    pub time_ms: i64,
    /// Provider name ("" when the record has none).
    pub provider: &'a str,
    /// The classic event source name (see [`record::source`]).
    pub source: &'a str,
    /// Event id (0 when the record has none).
    pub event_id: u32,
    /// The record rendered as JSON by the `evtx` crate.
    pub value: &'a serde_json::Value,
}

/// Damage met in a file, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    /// File offset of the damaged chunk or record, when known.
    pub offset: Option<u64>,
    /// Record id of the damaged record, when known.
    pub record_id: Option<u64>,
    /// What went wrong, with its causes.
    pub message: String,
}

/// Reads every record of an .evtx file, handing each readable one to `visit`; returns the
/// damage met. Fails only when the file cannot be opened as an event log at all. One pass over
/// the chunks: each is checked (checksums), then its records are rendered.
pub fn scan(path: &Path, visit: impl FnMut(RecordRef)) -> Result<Vec<Damage>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    scan_file(file, visit)
}

/// [`scan`] of an open file. A file cut inside its last chunk (not a whole number of chunks
/// after the header) has that chunk's records read up to the cut, and the cut is damage
/// located at the file's end.
pub fn scan_file(file: File, mut visit: impl FnMut(RecordRef)) -> Result<Vec<Damage>, String> {
    // One thread (the crate is built without multithreading); a bad checksum does not make a
    // record unreadable: read it, and say so.
    let settings = Arc::new(ParserSettings::new().validate_checksums(false));
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let tail = file.try_clone();
    let mut parser = EvtxParser::from_read_seek(file)
        .map_err(|e| chain(&e))?
        .with_configuration((*settings).clone());
    let mut damage = Vec::new();
    for chunk in parser.chunks() {
        let mut chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                damage.push(locate(&e));
                continue;
            }
        };
        let number = chunk.number.unwrap_or(0);
        let offset = FILE_HEADER + number * CHUNK;
        damage.extend(checksum_damage(&chunk, number, offset));
        read_chunk(&mut chunk, &settings, CHUNK, &mut visit, &mut damage);
    }
    // The crate reads whole chunks only: the records of a last chunk cut short are read here.
    let cut = size.saturating_sub(FILE_HEADER) % CHUNK;
    if size > FILE_HEADER && cut > 0 {
        let number = (size - FILE_HEADER) / CHUNK;
        let offset = FILE_HEADER + number * CHUNK;
        let mut bytes = Vec::with_capacity(CHUNK as usize);
        let read = tail.and_then(|mut f| {
            f.seek(SeekFrom::Start(offset))?;
            f.take(cut).read_to_end(&mut bytes)
        });
        let lost = |message: String| Damage {
            offset: Some(size),
            record_id: None,
            message,
        };
        match read {
            Err(e) => damage.push(lost(format!(
                "chunk {number}: the file is cut short {cut} bytes into it and those bytes cannot be read: {e}"
            ))),
            Ok(_) if bytes.iter().all(|b| *b == 0) => damage.push(lost(format!(
                "chunk {number}: the file ends {cut} bytes into the chunk at offset {offset:#x} \
                 (the file is cut short), which holds no records"
            ))),
            Ok(_) => {
                // Zeros stand for the missing end; records that reach past the cut are lost.
                bytes.resize(CHUNK as usize, 0);
                let before = damage.len();
                let mut readable = 0u64;
                let mut counted = |r: RecordRef| {
                    readable += 1;
                    visit(r)
                };
                // The records the chunk's header says it holds, when it says so plausibly.
                let mut declared = None;
                let outcome = match EvtxChunkData::new(bytes, false) {
                    Ok(mut chunk) => {
                        chunk.number = Some(number);
                        let h = &chunk.header;
                        declared = h
                            .last_event_record_id
                            .checked_sub(h.first_event_record_id)
                            .map(|d| d + 1)
                            .filter(|d| *d <= CHUNK / 24);
                        catch_unwind(AssertUnwindSafe(|| {
                            read_chunk(&mut chunk, &settings, cut, &mut counted, &mut damage)
                        }))
                        .map_err(|_| "the event log parser gave up on it".to_string())
                    }
                    Err(e) => Err(format!("its header is unreadable: {}", chain(&e))),
                };
                // What the cut made unreadable is the cut's, not damage of its own.
                let past_cut = damage.split_off(before).len() as u64;
                let how = match outcome {
                    Ok(straddling) => {
                        let lost = declared
                            .filter(|d| *d >= readable)
                            .map_or(straddling + past_cut, |d| d - readable);
                        format!(
                            "{readable} records before the cut are read, {lost} cut records are lost"
                        )
                    }
                    Err(e) => format!("none of its records can be read: {e}"),
                };
                damage.push(lost(format!(
                    "chunk {number}: the file ends at offset {size:#x}, {cut} of the chunk's \
                     {CHUNK} bytes (the file is cut short): {how}"
                )));
            }
        }
    }
    Ok(damage)
}

/// Reads the records of one chunk, of which the first `valid` bytes are the file's: a record
/// that reaches past them is not read, and counted in the number returned.
fn read_chunk(
    chunk: &mut EvtxChunkData,
    settings: &Arc<ParserSettings>,
    valid: u64,
    visit: &mut impl FnMut(RecordRef),
    damage: &mut Vec<Damage>,
) -> u64 {
    let number = chunk.number.unwrap_or(0);
    let offset = FILE_HEADER + number * CHUNK;
    let mut parsed = match chunk.parse(Arc::clone(settings)) {
        Ok(p) => p,
        Err(e) => {
            damage.push(Damage {
                offset: Some(offset),
                record_id: None,
                message: format!("Failed to parse chunk number {number}: {}", chain(&e)),
            });
            return 0;
        }
    };
    let mut cut = 0;
    for record in parsed.iter() {
        let record = match record {
            Ok(r) if r.binxml_offset + u64::from(r.binxml_size) > valid => {
                cut += 1;
                continue;
            }
            other => other,
        };
        match record.and_then(|r| r.into_json_value()) {
            Ok(r) => {
                let (provider, event_id) = record::provider_and_id(&r.data).unwrap_or(("", 0));
                visit(RecordRef {
                    record_id: r.event_record_id,
                    time_ms: r.timestamp.as_millisecond(),
                    provider,
                    source: record::source(&r.data).unwrap_or(provider),
                    event_id,
                    value: &r.data,
                });
            }
            Err(e) => damage.push(locate(&e)),
        }
    }
    cut
}

/// A chunk written without checksums, or whose header or records checksum is wrong (its
/// records are read anyway).
fn checksum_damage(chunk: &EvtxChunkData, number: u64, offset: u64) -> Option<Damage> {
    let message = if chunk.header.flags.contains(ChunkFlags::NO_CRC32) {
        format!(
            "chunk {number}: written without checksums (NoCrc32 flag); its records are read unverified"
        )
    } else {
        let bad = match (
            chunk.validate_header_checksum(),
            chunk.validate_data_checksum(),
        ) {
            (true, true) => return None,
            (false, false) => "header and records",
            (false, true) => "header",
            (true, false) => "records",
        };
        format!("chunk {number}: bad {bad} checksum; its records are read anyway")
    };
    Some(Damage {
        offset: Some(offset),
        record_id: None,
        message,
    })
}

fn locate(e: &EvtxError) -> Damage {
    let (offset, record_id) = match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => {
            (Some(FILE_HEADER + chunk_id * CHUNK), None)
        }
        EvtxError::FailedToReadRecordAt {
            chunk: Some(chunk),
            offset,
            ..
        } => (Some(FILE_HEADER + chunk * CHUNK + offset), None),
        EvtxError::FailedToParseRecord { record_id, .. } => (None, Some(*record_id)),
        _ => (None, None),
    };
    Damage {
        offset,
        record_id,
        message: chain(e),
    }
}

/// An error with its causes, joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Counts of records per (source, event id), sources named as [`record::source`] names them.
pub fn counts(path: &Path) -> Result<BTreeMap<(String, u32), u64>, String> {
    let mut out = BTreeMap::new();
    scan(path, |r| {
        *out.entry((r.source.to_string(), r.event_id)).or_insert(0) += 1
    })?;
    Ok(out)
}

impl Reader for EventLogs {
    const NAME: &'static str = "event_log";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        let since = out.evidence().events_since_ms;
        for windows_path in crate::artifacts::EVENT_LOGS.map(|a| a.path) {
            let Some(file) = dir.resolve(windows_path) else {
                out.absent(Self::NAME, &dir.expected(windows_path));
                continue;
            };
            let path = dir.display(&file);
            let opened = match dir.open(&file) {
                Ok((f, _)) => f,
                Err(refusal) => {
                    out.refused(Self::NAME, &refusal, true);
                    continue;
                }
            };
            let log = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut kept = kept::Kept::new(MAX_EVENTS, MAX_EVENT_BYTES);
            let scanned = scan_file(opened, |r| {
                let matters = filter::matters(r.provider, r.event_id)
                    || filter::matters(r.source, r.event_id);
                if r.time_ms < since || !matters {
                    return;
                }
                let mut e = record::event(&log, r.record_id, r.time_ms, r.value);
                facts::fill(&mut e);
                e.provenance = Some(provenance::record(Self::NAME, &path, r.record_id));
                kept.push(e);
            });
            let over = kept.dropped;
            let events = kept.into_vec();
            let damage = match scanned {
                Ok(d) => d,
                Err(message) => {
                    out.artifact(Self::NAME, &path, State::Unreadable);
                    out.error(
                        Self::NAME,
                        "not_an_event_log",
                        &path,
                        None,
                        format!("{path}: {message}"),
                    );
                    continue;
                }
            };
            for d in damage.iter().take(MAX_ERRORS) {
                let loc = match (d.offset, d.record_id) {
                    (Some(o), _) => Some(provenance::offset(Self::NAME, &path, o)),
                    (None, Some(id)) => Some(provenance::record(Self::NAME, &path, id)),
                    _ => None,
                };
                let at = match (d.offset, d.record_id) {
                    (Some(o), _) => format!(" at offset {o:#x}"),
                    (None, Some(id)) => format!(" at record {id}"),
                    _ => String::new(),
                };
                out.error(
                    Self::NAME,
                    "damaged_evtx",
                    &path,
                    loc,
                    format!("{path}{at}: {}", d.message),
                );
            }
            if damage.len() > MAX_ERRORS {
                out.error(
                    Self::NAME,
                    "damaged_evtx",
                    &path,
                    None,
                    format!("{path}: {} more damaged places", damage.len() - MAX_ERRORS),
                );
            }
            if over > 0 {
                out.error(
                    Self::NAME,
                    "events_capped",
                    &path,
                    None,
                    format!(
                        "{path}: {over} more events that matter than are kept (at most \
                         {MAX_EVENTS} events or {} MiB per log): the oldest were dropped; \
                         collect a shorter window",
                        MAX_EVENT_BYTES >> 20
                    ),
                );
            }
            let state = if damage.is_empty() {
                State::Read
            } else {
                State::Partial
            };
            out.evidence_mut().events.extend(events);
            out.artifact(Self::NAME, &path, state);
        }
    }
}
