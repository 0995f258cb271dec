//! A small writer of Windows registry hive files (regf), for tests and the fleet simulator.
//!
//! No crate writes hives, so this writes the format directly, after the published format
//! description (msuhanov, "Windows registry file format specification"): a 4 KiB base
//! block, then 4 KiB hive bins of cells. Keys are `nk` cells with `lh` subkey lists sorted by
//! upper-case name, values are `vk` cells with data inline (up to 4 bytes) or in a data
//! cell, and one shared `sk` cell. Big data (`db`, over 16344 bytes) is not written.
//! Independent readers (hivex, regipy, notatin) check its output in CI.

use std::collections::BTreeMap;

/// Registry value data.
#[derive(Debug, Clone, PartialEq)]
pub enum RegData {
    /// REG_SZ.
    Sz(String),
    /// REG_EXPAND_SZ.
    ExpandSz(String),
    /// REG_BINARY.
    Binary(Vec<u8>),
    /// REG_DWORD.
    Dword(u32),
    /// REG_MULTI_SZ.
    MultiSz(Vec<String>),
    /// REG_QWORD.
    Qword(u64),
}

impl RegData {
    fn type_code(&self) -> u32 {
        match self {
            RegData::Sz(_) => 1,
            RegData::ExpandSz(_) => 2,
            RegData::Binary(_) => 3,
            RegData::Dword(_) => 4,
            RegData::MultiSz(_) => 7,
            RegData::Qword(_) => 11,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            RegData::Sz(s) | RegData::ExpandSz(s) => utf16z(s),
            RegData::Binary(b) => b.clone(),
            RegData::Dword(n) => n.to_le_bytes().to_vec(),
            RegData::Qword(n) => n.to_le_bytes().to_vec(),
            RegData::MultiSz(v) => {
                let mut out: Vec<u8> = v.iter().flat_map(|s| utf16z(s)).collect();
                out.extend([0, 0]);
                out
            }
        }
    }
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// A key and everything below it.
#[derive(Debug, Clone, Default)]
struct KeyNode {
    name: String,
    /// Subkeys by upper-case name: the order Windows keeps subkey lists in.
    subkeys: BTreeMap<String, KeyNode>,
    values: Vec<(String, RegData)>,
}

impl KeyNode {
    fn named(name: &str) -> Self {
        KeyNode {
            name: name.to_string(),
            ..Default::default()
        }
    }

    fn walk(&mut self, path: &str) -> &mut KeyNode {
        let mut node = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            node = node
                .subkeys
                .entry(part.to_ascii_uppercase())
                .or_insert_with(|| KeyNode::named(part));
        }
        node
    }
}

/// How the base block is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Write differing sequence numbers, as in a hive copied from a running machine before
    /// its transaction logs were flushed.
    pub dirty: bool,
}

/// Builds a hive in memory and serialises it.
#[derive(Debug, Clone)]
pub struct HiveBuilder {
    root: KeyNode,
    /// Name written into the base block (`\SystemRoot\System32\Config\SYSTEM`).
    file_name: String,
}

/// Windows' limit for data kept in one cell; larger data needs `db` records.
const MAX_CELL_DATA: usize = 16344;
const HBIN: usize = 4096;
const NO_OFFSET: u32 = 0xFFFF_FFFF;
/// A fixed last-written time (2024-01-01) keeps output reproducible.
const FILETIME: u64 = 133_485_408_000_000_000;

impl HiveBuilder {
    /// A hive whose root key is `root_name` (Windows uses e.g. `ROOT` or `CMI-CreateHive{..}`).
    pub fn new(root_name: &str, file_name: &str) -> Self {
        HiveBuilder {
            root: KeyNode::named(root_name),
            file_name: file_name.to_string(),
        }
    }

    /// Creates `path` (backslash-separated, below the root) and its parents.
    pub fn key(&mut self, path: &str) -> &mut Self {
        self.root.walk(path);
        self
    }

    /// Sets a value, creating its key. Setting a name twice replaces the value.
    pub fn set(&mut self, path: &str, name: &str, data: RegData) -> &mut Self {
        assert!(
            data.bytes().len() <= MAX_CELL_DATA,
            "big data records are not written"
        );
        let node = self.root.walk(path);
        match node
            .values
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = data,
            None => node.values.push((name.to_string(), data)),
        }
        self
    }

    /// Every key, the root first, then depth first in the order the hive keeps subkeys (by
    /// upper-case name): its path below the root (`""` for the root itself,
    /// `ControlSet001\Services`) and its values in the order they were set. For writers of
    /// other forms of the same registry (a `.reg` file).
    pub fn keys(&self) -> Vec<(String, Vec<(String, RegData)>)> {
        fn walk(key: &KeyNode, path: String, out: &mut Vec<(String, Vec<(String, RegData)>)>) {
            out.push((path.clone(), key.values.clone()));
            for sub in key.subkeys.values() {
                let below = if path.is_empty() {
                    sub.name.clone()
                } else {
                    format!("{path}\\{}", sub.name)
                };
                walk(sub, below, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.root, String::new(), &mut out);
        out
    }

    /// Serialises the hive.
    pub fn to_bytes(&self, opts: WriteOptions) -> Vec<u8> {
        let mut w = CellWriter::default();
        // Readers such as notatin take the first cell of the first bin as the root key, as
        // Windows lays hives out: the root nk comes first, the shared sk right after it.
        let root = w.alloc(nk_len(&self.root));
        let sk = w.alloc(sk_cell(0).len());
        w.put(sk, &sk_cell(sk));
        write_key(&mut w, &self.root, root, 0, sk, true);
        // The sk cell is shared by all keys: its reference count is the number of keys.
        let keys = count_keys(&self.root);
        w.patch_u32(sk + 12, keys);
        let bins = w.finish();
        let mut out = base_block(root, bins.len() as u32, &self.file_name, opts);
        out.extend(bins);
        out
    }
}

fn count_keys(k: &KeyNode) -> u32 {
    1 + k.subkeys.values().map(count_keys).sum::<u32>()
}

/// Lays out cells in 4 KiB hive bins; offsets are relative to the first bin.
#[derive(Default)]
struct CellWriter {
    data: Vec<u8>,
    /// Start of the current bin.
    bin_start: usize,
}

impl CellWriter {
    /// Reserves a cell for `len` bytes of content and returns its offset.
    fn alloc(&mut self, len: usize) -> u32 {
        let size = (len + 4).div_ceil(8) * 8;
        if self.data.is_empty() || self.data.len() + size > self.bin_start + self.bin_len() {
            self.new_bin(size);
        }
        let at = self.data.len();
        self.data.extend((-(size as i32)).to_le_bytes());
        self.data.resize(at + size, 0);
        at as u32
    }

    fn bin_len(&self) -> usize {
        u32::from_le_bytes(
            self.data[self.bin_start + 8..self.bin_start + 12]
                .try_into()
                .unwrap(),
        ) as usize
    }

    fn new_bin(&mut self, cell: usize) {
        if !self.data.is_empty() {
            self.close_bin();
        }
        let len = (cell + 32).div_ceil(HBIN) * HBIN;
        self.bin_start = self.data.len();
        self.data.extend(b"hbin");
        self.data.extend((self.bin_start as u32).to_le_bytes());
        self.data.extend((len as u32).to_le_bytes());
        self.data.extend([0u8; 8]);
        self.data.extend(FILETIME.to_le_bytes());
        self.data.extend([0u8; 4]);
    }

    /// Fills the rest of the current bin with one free cell.
    fn close_bin(&mut self) {
        let end = self.bin_start + self.bin_len();
        let free = end - self.data.len();
        if free > 0 {
            let at = self.data.len();
            self.data.resize(end, 0);
            self.data[at..at + 4].copy_from_slice(&(free as i32).to_le_bytes());
        }
    }

    /// Writes a cell's content (after its size field).
    fn put(&mut self, cell: u32, content: &[u8]) {
        let at = cell as usize + 4;
        self.data[at..at + content.len()].copy_from_slice(content);
    }

    fn patch_u32(&mut self, cell: u32, v: u32) {
        self.put(cell, &v.to_le_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        if self.data.is_empty() {
            self.new_bin(0);
        }
        self.close_bin();
        self.data
    }
}

fn nk_len(key: &KeyNode) -> usize {
    0x4C + key.name.len()
}

/// Writes `key` into its reserved cell `nk`, and everything below it into new cells.
fn write_key(w: &mut CellWriter, key: &KeyNode, nk: u32, parent: u32, sk: u32, root: bool) {
    let name = key.name.as_bytes();
    let children: Vec<(u32, &KeyNode)> = key
        .subkeys
        .values()
        .map(|k| {
            let cell = w.alloc(nk_len(k));
            write_key(w, k, cell, nk, sk, false);
            (cell, k)
        })
        .collect();
    let subkey_list = if children.is_empty() {
        NO_OFFSET
    } else {
        let mut lh = Vec::with_capacity(4 + 8 * children.len());
        lh.extend(b"lh");
        lh.extend((children.len() as u16).to_le_bytes());
        for (off, k) in &children {
            lh.extend(off.to_le_bytes());
            lh.extend(lh_hash(&k.name).to_le_bytes());
        }
        let cell = w.alloc(lh.len());
        w.put(cell, &lh);
        cell
    };
    let mut value_offsets = Vec::new();
    let (mut max_value_name, mut max_value_data) = (0u32, 0u32);
    for (vname, data) in &key.values {
        let bytes = data.bytes();
        max_value_name = max_value_name.max(vname.len() as u32 * 2);
        max_value_data = max_value_data.max(bytes.len() as u32);
        let (size_field, data_field) = if bytes.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..bytes.len()].copy_from_slice(&bytes);
            (bytes.len() as u32 | 0x8000_0000, u32::from_le_bytes(inline))
        } else {
            let cell = w.alloc(bytes.len());
            w.put(cell, &bytes);
            (bytes.len() as u32, cell)
        };
        let mut vk = Vec::with_capacity(0x14 + vname.len());
        vk.extend(b"vk");
        vk.extend((vname.len() as u16).to_le_bytes());
        vk.extend(size_field.to_le_bytes());
        vk.extend(data_field.to_le_bytes());
        vk.extend(data.type_code().to_le_bytes());
        // VALUE_COMP_NAME: the name is stored in ASCII.
        vk.extend(1u16.to_le_bytes());
        vk.extend(0u16.to_le_bytes());
        vk.extend(vname.as_bytes());
        let cell = w.alloc(vk.len());
        w.put(cell, &vk);
        value_offsets.push(cell);
    }
    let value_list = if value_offsets.is_empty() {
        NO_OFFSET
    } else {
        let list: Vec<u8> = value_offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
        let cell = w.alloc(list.len());
        w.put(cell, &list);
        cell
    };
    // KEY_COMP_NAME, plus KEY_HIVE_ENTRY | KEY_NO_DELETE on the root.
    let flags: u16 = if root { 0x2C } else { 0x20 };
    let max_subkey_name = children
        .iter()
        .map(|(_, k)| k.name.len() as u32 * 2)
        .max()
        .unwrap_or(0);
    let mut c = Vec::with_capacity(0x4C + name.len());
    c.extend(b"nk");
    c.extend(flags.to_le_bytes());
    c.extend(FILETIME.to_le_bytes());
    c.extend(0u32.to_le_bytes()); // access bits
    c.extend(parent.to_le_bytes());
    c.extend((children.len() as u32).to_le_bytes());
    c.extend(0u32.to_le_bytes()); // volatile subkeys
    c.extend(subkey_list.to_le_bytes());
    c.extend(NO_OFFSET.to_le_bytes()); // volatile subkey list
    c.extend((key.values.len() as u32).to_le_bytes());
    c.extend(value_list.to_le_bytes());
    c.extend(sk.to_le_bytes());
    c.extend(NO_OFFSET.to_le_bytes()); // class name
    c.extend(max_subkey_name.to_le_bytes());
    c.extend(0u32.to_le_bytes()); // largest subkey class name
    c.extend(max_value_name.to_le_bytes());
    c.extend(max_value_data.to_le_bytes());
    c.extend(0u32.to_le_bytes()); // work var
    c.extend((name.len() as u16).to_le_bytes());
    c.extend(0u16.to_le_bytes()); // class name length
    c.extend(name);
    w.put(nk, &c);
}

/// The `lh` name hash: h = h * 37 + upper(c) over the name's characters.
fn lh_hash(name: &str) -> u32 {
    name.chars().fold(0u32, |h, c| {
        h.wrapping_mul(37)
            .wrapping_add(c.to_ascii_uppercase() as u32)
    })
}

/// An `sk` cell whose forward and backward links point at itself, with a minimal
/// self-relative security descriptor (no owner, group or ACLs).
fn sk_cell(own: u32) -> Vec<u8> {
    let descriptor: [u8; 20] = {
        let mut d = [0u8; 20];
        d[0] = 1; // revision
        d[2..4].copy_from_slice(&0x8000u16.to_le_bytes()); // SE_SELF_RELATIVE
        d
    };
    let mut c = Vec::new();
    c.extend(b"sk");
    c.extend(0u16.to_le_bytes());
    c.extend(own.to_le_bytes());
    c.extend(own.to_le_bytes());
    c.extend(1u32.to_le_bytes()); // reference count, patched later
    c.extend((descriptor.len() as u32).to_le_bytes());
    c.extend(descriptor);
    c
}

fn base_block(root: u32, bins_len: u32, file_name: &str, opts: WriteOptions) -> Vec<u8> {
    let mut b = vec![0u8; HBIN];
    let seq: u32 = 7;
    b[0..4].copy_from_slice(b"regf");
    b[4..8].copy_from_slice(&seq.to_le_bytes());
    let secondary = if opts.dirty { seq - 1 } else { seq };
    b[8..12].copy_from_slice(&secondary.to_le_bytes());
    b[12..20].copy_from_slice(&FILETIME.to_le_bytes());
    b[20..24].copy_from_slice(&1u32.to_le_bytes()); // major
    b[24..28].copy_from_slice(&5u32.to_le_bytes()); // minor
    b[28..32].copy_from_slice(&0u32.to_le_bytes()); // primary file
    b[32..36].copy_from_slice(&1u32.to_le_bytes()); // direct memory load
    b[36..40].copy_from_slice(&root.to_le_bytes());
    b[40..44].copy_from_slice(&bins_len.to_le_bytes());
    b[44..48].copy_from_slice(&1u32.to_le_bytes()); // clustering factor
    let name: Vec<u8> = file_name
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .take(64)
        .collect();
    b[48..48 + name.len()].copy_from_slice(&name);
    let sum = b[..0x1FC].chunks_exact(4).fold(0u32, |x, c| {
        x ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]])
    });
    let sum = match sum {
        0xFFFF_FFFF => 0xFFFF_FFFE,
        0 => 1,
        s => s,
    };
    b[0x1FC..0x200].copy_from_slice(&sum.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_bins_of_4k_with_a_valid_checksum() {
        let mut h = HiveBuilder::new("ROOT", "SYSTEM");
        for i in 0..300 {
            h.set(&format!("Services\\Svc{i:03}"), "Start", RegData::Dword(2));
        }
        let bytes = h.to_bytes(WriteOptions::default());
        assert_eq!(bytes.len() % HBIN, 0);
        assert_eq!(&bytes[HBIN..HBIN + 4], b"hbin");
        let bins_len = u32::from_le_bytes(bytes[40..44].try_into().unwrap()) as usize;
        assert_eq!(bins_len, bytes.len() - HBIN);
        // Walk the bins: each declares its own offset and a size multiple of 4 KiB.
        let mut at = 0;
        while at < bins_len {
            let bin = &bytes[HBIN + at..];
            assert_eq!(&bin[..4], b"hbin");
            assert_eq!(
                u32::from_le_bytes(bin[4..8].try_into().unwrap()) as usize,
                at
            );
            let size = u32::from_le_bytes(bin[8..12].try_into().unwrap()) as usize;
            assert_eq!(size % HBIN, 0);
            at += size;
        }
        assert!(at > HBIN, "300 keys need more than one bin");
    }

    #[test]
    fn lh_hash_matches_the_specification_example() {
        // Upper-cased characters folded with *37: "ab" = 'A' * 37 + 'B'.
        assert_eq!(lh_hash("ab"), 65 * 37 + 66);
    }
}
