//! A writer of Windows event logs (.evtx, MS-EVEN6) for tests: a file header, 64 KiB chunks
//! with their checksums, and records whose Binary XML is a template instance carrying its own
//! template definition inline, as Windows writes them (names inline, substitution values
//! typed: UInt16 EventID, UInt8 Level, FILETIME SystemTime, UInt64 EventRecordID, UTF-16
//! strings, binary). The `evtx` crate and libevtx read these files back (tested).
//!
//! Large files for benchmarks are written chunk by chunk ([`EvtxWriter`]), not concatenated.

use std::io::{self, Seek, SeekFrom, Write};

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;
const CHUNK_HEADER_SIZE: usize = 512;
/// Seconds from 1601-01-01 to 1970-01-01, in 100 ns ticks.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// One EventData value: named (`<Data Name="param1">`) or positional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datum {
    /// The Name attribute; `None` for a positional value.
    pub name: Option<String>,
    /// The text (must not be empty).
    pub value: String,
}

impl Datum {
    /// A named value.
    pub fn named(name: &str, value: &str) -> Self {
        Datum {
            name: Some(name.to_string()),
            value: value.to_string(),
        }
    }

    /// A positional value.
    pub fn positional(value: &str) -> Self {
        Datum {
            name: None,
            value: value.to_string(),
        }
    }
}

/// An event to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSpec {
    /// System/Provider/@Name.
    pub provider: String,
    /// System/EventID.
    pub event_id: u16,
    /// System/Level (1 critical .. 4 information).
    pub level: u8,
    /// System/TimeCreated/@SystemTime and the record's written time (UTC ms).
    pub time_ms: i64,
    /// System/Channel ("Application", "System").
    pub channel: String,
    /// System/Computer.
    pub computer: String,
    /// EventData/Data, in order.
    pub data: Vec<Datum>,
    /// EventData/Binary (empty = none).
    pub binary: Vec<u8>,
}

/// Writes events into an .evtx stream, one chunk at a time. Record ids start at 1.
pub struct EvtxWriter<W: Write + Seek> {
    out: W,
    chunk: Chunk,
    chunks: u64,
    next_record_id: u64,
}

impl<W: Write + Seek> EvtxWriter<W> {
    /// Starts a file (its header is written by [`EvtxWriter::finish`]).
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&[0u8; FILE_HEADER_SIZE])?;
        Ok(EvtxWriter {
            out,
            chunk: Chunk::new(1),
            chunks: 0,
            next_record_id: 1,
        })
    }

    /// Appends an event; returns its record id.
    pub fn push(&mut self, e: &EventSpec) -> io::Result<u64> {
        let id = self.next_record_id;
        if !self.chunk.try_record(id, e) {
            self.flush_chunk()?;
            assert!(
                self.chunk.try_record(id, e),
                "an event larger than a chunk cannot be written"
            );
        }
        self.next_record_id += 1;
        Ok(id)
    }

    /// The size the file has once finished if nothing more is pushed: the header and every
    /// chunk, the one being filled included (chunks are written whole, 64 KiB each). Lets a
    /// caller fill a file up to a size without writing it twice.
    pub fn file_len(&self) -> u64 {
        let open = u64::from(self.chunk.count > 0);
        (FILE_HEADER_SIZE + (self.chunks + open) as usize * CHUNK_SIZE) as u64
    }

    fn flush_chunk(&mut self) -> io::Result<()> {
        let next = Chunk::new(self.next_record_id);
        let full = std::mem::replace(&mut self.chunk, next);
        if full.count > 0 {
            self.out.write_all(&full.finish())?;
            self.chunks += 1;
        }
        Ok(())
    }

    /// Writes the last chunk and the file header; returns the stream.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_chunk()?;
        let mut h = vec![0u8; 128];
        h[0..8].copy_from_slice(b"ElfFile\0");
        put_u64(&mut h, 8, 0);
        put_u64(&mut h, 16, self.chunks.saturating_sub(1));
        put_u64(&mut h, 24, self.next_record_id);
        put_u32(&mut h, 32, 128);
        put_u16(&mut h, 36, 1);
        put_u16(&mut h, 38, 3);
        put_u16(&mut h, 40, FILE_HEADER_SIZE as u16);
        put_u16(
            &mut h,
            42,
            u16::try_from(self.chunks).expect("at most 65535 chunks"),
        );
        let crc = crc32fast::hash(&h[..120]);
        put_u32(&mut h, 124, crc);
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&h)?;
        self.out.seek(SeekFrom::End(0))?;
        Ok(self.out)
    }
}

/// The bytes of an .evtx file holding `events`.
pub fn to_bytes(events: &[EventSpec]) -> Vec<u8> {
    let mut w = EvtxWriter::new(io::Cursor::new(Vec::new())).expect("in memory");
    for e in events {
        w.push(e).expect("in memory");
    }
    w.finish().expect("in memory").into_inner()
}

/// The bytes `e` takes in a chunk as record `id` (its record header, Binary XML and size
/// trailer): what sizing a file needs to know without writing it.
pub fn record_len(id: u64, e: &EventSpec) -> usize {
    let mut buf = Vec::with_capacity(1024);
    record(&mut buf, id, e);
    buf.len()
}

/// Bytes of a chunk that hold records (a chunk is 64 KiB, its header 512 bytes).
pub const CHUNK_RECORD_BYTES: usize = CHUNK_SIZE - CHUNK_HEADER_SIZE;

/// A chunk being filled: `buf` is the chunk from its first byte, so a position in it is a
/// chunk offset, which Binary XML name and template references are.
struct Chunk {
    buf: Vec<u8>,
    first_id: u64,
    last_id: u64,
    last_record_offset: u32,
    count: u64,
}

impl Chunk {
    fn new(first_id: u64) -> Self {
        Chunk {
            buf: vec![0u8; CHUNK_HEADER_SIZE],
            first_id,
            last_id: first_id,
            last_record_offset: 0,
            count: 0,
        }
    }

    /// Writes a record; `false` (and nothing written) when it does not fit.
    fn try_record(&mut self, id: u64, e: &EventSpec) -> bool {
        let start = self.buf.len();
        record(&mut self.buf, id, e);
        if self.buf.len() > CHUNK_SIZE {
            self.buf.truncate(start);
            return false;
        }
        if self.count == 0 {
            self.first_id = id;
        }
        self.last_id = id;
        self.last_record_offset = start as u32;
        self.count += 1;
        true
    }

    fn finish(mut self) -> Vec<u8> {
        let free = self.buf.len();
        let b = &mut self.buf;
        b[0..8].copy_from_slice(b"ElfChnk\0");
        put_u64(b, 8, self.first_id);
        put_u64(b, 16, self.last_id);
        put_u64(b, 24, self.first_id);
        put_u64(b, 32, self.last_id);
        put_u32(b, 40, 128);
        put_u32(b, 44, self.last_record_offset);
        put_u32(b, 48, free as u32);
        let records_crc = crc32fast::hash(&b[CHUNK_HEADER_SIZE..free]);
        put_u32(b, 52, records_crc);
        let mut h = crc32fast::Hasher::new();
        h.update(&b[..120]);
        h.update(&b[128..CHUNK_HEADER_SIZE]);
        let header_crc = h.finalize();
        put_u32(b, 124, header_crc);
        b.resize(CHUNK_SIZE, 0);
        self.buf
    }
}

/// Value types of substitutions (MS-EVEN6 2.2.18).
#[derive(Clone, Copy)]
enum Ty {
    String = 0x01,
    UInt8 = 0x04,
    UInt16 = 0x06,
    UInt64 = 0x0a,
    Binary = 0x0e,
    FileTime = 0x11,
}

/// One substitution value of the template instance.
struct Value {
    ty: Ty,
    bytes: Vec<u8>,
}

/// A node of the template: an element with attributes and either children or one value.
struct Element {
    name: &'static str,
    attributes: Vec<(&'static str, Attr)>,
    content: Content,
}

/// An attribute's value: a substitution, or text written in the template (as Windows writes
/// `<Data Name="param1">`).
enum Attr {
    Sub(usize),
    Text(String),
}

enum Content {
    Empty,
    Value(usize),
    Children(Vec<Element>),
}

fn record(buf: &mut Vec<u8>, id: u64, e: &EventSpec) {
    let start = buf.len();
    buf.extend_from_slice(&[0x2a, 0x2a, 0, 0]);
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&id.to_le_bytes());
    let filetime = (e.time_ms.max(0) as u64) * 10_000 + FILETIME_UNIX_EPOCH;
    buf.extend_from_slice(&filetime.to_le_bytes());

    let mut values: Vec<Value> = Vec::new();
    let mut sub = |ty: Ty, bytes: Vec<u8>| {
        values.push(Value { ty, bytes });
        values.len() - 1
    };
    let xmlns = sub(
        Ty::String,
        utf16("http://schemas.microsoft.com/win/2004/08/events/event"),
    );
    let provider = sub(Ty::String, utf16(&e.provider));
    let event_id = sub(Ty::UInt16, e.event_id.to_le_bytes().to_vec());
    let level = sub(Ty::UInt8, vec![e.level]);
    let time = sub(Ty::FileTime, filetime.to_le_bytes().to_vec());
    let record_id = sub(Ty::UInt64, id.to_le_bytes().to_vec());
    let channel = sub(Ty::String, utf16(&e.channel));
    let computer = sub(Ty::String, utf16(&e.computer));
    let mut data = Vec::new();
    for d in &e.data {
        let attributes = match &d.name {
            Some(n) => vec![("Name", Attr::Text(n.clone()))],
            None => Vec::new(),
        };
        data.push(Element {
            name: "Data",
            attributes,
            content: Content::Value(sub(Ty::String, utf16(&d.value))),
        });
    }
    if !e.binary.is_empty() {
        data.push(Element {
            name: "Binary",
            attributes: Vec::new(),
            content: Content::Value(sub(Ty::Binary, e.binary.clone())),
        });
    }
    let leaf = |name, v| Element {
        name,
        attributes: Vec::new(),
        content: Content::Value(v),
    };
    let tree = Element {
        name: "Event",
        attributes: vec![("xmlns", Attr::Sub(xmlns))],
        content: Content::Children(vec![
            Element {
                name: "System",
                attributes: Vec::new(),
                content: Content::Children(vec![
                    Element {
                        name: "Provider",
                        attributes: vec![("Name", Attr::Sub(provider))],
                        content: Content::Empty,
                    },
                    leaf("EventID", event_id),
                    leaf("Level", level),
                    Element {
                        name: "TimeCreated",
                        attributes: vec![("SystemTime", Attr::Sub(time))],
                        content: Content::Empty,
                    },
                    leaf("EventRecordID", record_id),
                    leaf("Channel", channel),
                    leaf("Computer", computer),
                ]),
            },
            Element {
                name: "EventData",
                attributes: Vec::new(),
                content: Content::Children(data),
            },
        ]),
    };

    // Fragment header, then a template instance whose definition follows inline.
    buf.extend_from_slice(&[0x0f, 0x01, 0x01, 0x00]);
    buf.push(0x0c);
    buf.push(0x01);
    let template_id = (id as u32).wrapping_mul(2_654_435_761);
    buf.extend_from_slice(&template_id.to_le_bytes());
    let definition = buf.len() as u32 + 4;
    buf.extend_from_slice(&definition.to_le_bytes());
    buf.extend_from_slice(&0u32.to_le_bytes());
    let mut guid = [0u8; 16];
    guid[..4].copy_from_slice(&template_id.to_le_bytes());
    guid[4..12].copy_from_slice(&id.to_le_bytes());
    buf.extend_from_slice(&guid);
    let size_at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    let body = buf.len();
    buf.extend_from_slice(&[0x0f, 0x01, 0x01, 0x00]);
    element(buf, &tree, &values);
    buf.push(0x00);
    let body_size = (buf.len() - body) as u32;
    put_u32(buf, size_at, body_size);

    buf.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in &values {
        buf.extend_from_slice(&(v.bytes.len() as u16).to_le_bytes());
        buf.push(v.ty as u8);
        buf.push(0);
    }
    for v in &values {
        buf.extend_from_slice(&v.bytes);
    }
    buf.push(0x00);

    let size = (buf.len() - start + 4) as u32;
    buf.extend_from_slice(&size.to_le_bytes());
    put_u32(buf, start + 4, size);
}

/// An element of a template definition: it carries a dependency identifier (none: 0xffff);
/// attribute values and text are normal substitutions of the instance's values.
fn element(buf: &mut Vec<u8>, e: &Element, values: &[Value]) {
    let has_attributes = !e.attributes.is_empty();
    buf.push(if has_attributes { 0x41 } else { 0x01 });
    buf.extend_from_slice(&0xffffu16.to_le_bytes());
    let size_at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    name(buf, e.name);
    if has_attributes {
        let list_at = buf.len();
        buf.extend_from_slice(&[0; 4]);
        let list = buf.len();
        for (i, (attr, v)) in e.attributes.iter().enumerate() {
            let more = i + 1 < e.attributes.len();
            buf.push(if more { 0x46 } else { 0x06 });
            name(buf, attr);
            match v {
                Attr::Sub(i) => substitution(buf, *i, values),
                Attr::Text(t) => {
                    // Value text: string type, length in characters, UTF-16.
                    buf.extend_from_slice(&[0x05, Ty::String as u8]);
                    buf.extend_from_slice(&(t.encode_utf16().count() as u16).to_le_bytes());
                    buf.extend_from_slice(&utf16(t));
                }
            }
        }
        let list_size = (buf.len() - list) as u32;
        put_u32(buf, list_at, list_size);
    }
    match &e.content {
        Content::Empty => buf.push(0x03),
        Content::Value(v) => {
            buf.push(0x02);
            substitution(buf, *v, values);
            buf.push(0x04);
        }
        Content::Children(children) => {
            buf.push(0x02);
            for c in children {
                element(buf, c, values);
            }
            buf.push(0x04);
        }
    }
    let size = (buf.len() - size_at - 4) as u32;
    put_u32(buf, size_at, size);
}

fn substitution(buf: &mut Vec<u8>, index: usize, values: &[Value]) {
    buf.push(0x0d);
    buf.extend_from_slice(&(index as u16).to_le_bytes());
    buf.push(values[index].ty as u8);
}

/// A name reference whose name follows inline: offset (of the name, right after it), next
/// name offset, hash, length, UTF-16 text and its NUL.
fn name(buf: &mut Vec<u8>, text: &str) {
    let at = buf.len() as u32 + 4;
    buf.extend_from_slice(&at.to_le_bytes());
    buf.extend_from_slice(&0u32.to_le_bytes());
    let units: Vec<u16> = text.encode_utf16().collect();
    let hash = units.iter().fold(0u32, |h, &c| {
        h.wrapping_mul(65599).wrapping_add(u32::from(c))
    });
    buf.extend_from_slice(&(hash as u16).to_le_bytes());
    buf.extend_from_slice(&(units.len() as u16).to_le_bytes());
    for u in units {
        buf.extend_from_slice(&u.to_le_bytes());
    }
    buf.extend_from_slice(&[0, 0]);
}

/// UTF-16LE bytes of a string, without a NUL.
pub fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
