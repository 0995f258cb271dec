//! A small writer of PE32+ images that carry only a version resource, for ExSetup.exe in
//! simulated triage copies. Follows the PE/COFF specification (headers, one `.rsrc`
//! section, the resource directory tree) and the `VS_VERSIONINFO` layout; independent
//! readers (the collector over `object`, Python's pefile) check its output.

/// The version facts written into the resource.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    /// Fixed file version (major, minor, build, revision).
    pub file_version: [u16; 4],
    /// `StringFileInfo` FileVersion, as Exchange writes it (`15.02.1748.039`).
    pub file_version_string: String,
    /// `StringFileInfo` ProductVersion.
    pub product_version_string: String,
    /// `StringFileInfo` ProductName.
    pub product_name: String,
}

impl VersionInfo {
    /// Exchange's way: the fixed version plus the zero-padded string (`15.02.1748.039`).
    pub fn exchange(v: [u16; 4]) -> Self {
        let padded = format!("{}.{:02}.{:04}.{:03}", v[0], v[1], v[2], v[3]);
        VersionInfo {
            file_version: v,
            file_version_string: padded.clone(),
            product_version_string: padded,
            product_name: "Microsoft® Exchange".to_string(),
        }
    }
}

const FILE_ALIGN: usize = 0x200;
const SECTION_ALIGN: usize = 0x1000;
const RSRC_RVA: u32 = 0x1000;
const RT_VERSION: u32 = 16;
const LANG_EN_US: u32 = 0x0409;

/// Builds a PE32+ image holding `info` as its version resource.
pub fn image_with_version(info: &VersionInfo) -> Vec<u8> {
    let rsrc = resource_section(&version_resource(info));
    let raw_size = rsrc.len().div_ceil(FILE_ALIGN) * FILE_ALIGN;
    let image_size = SECTION_ALIGN + rsrc.len().div_ceil(SECTION_ALIGN) * SECTION_ALIGN;

    let mut out = vec![0u8; FILE_ALIGN];
    // DOS header: magic and the offset of the PE header.
    out[0..2].copy_from_slice(b"MZ");
    out[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    let mut h = Vec::new();
    h.extend(b"PE\0\0");
    // COFF header.
    h.extend(0x8664u16.to_le_bytes()); // AMD64
    h.extend(1u16.to_le_bytes()); // sections
    h.extend(0u32.to_le_bytes()); // time stamp
    h.extend(0u32.to_le_bytes()); // symbol table
    h.extend(0u32.to_le_bytes()); // symbols
    h.extend(240u16.to_le_bytes()); // optional header size
    h.extend(0x0022u16.to_le_bytes()); // executable, large address aware
                                       // Optional header, PE32+.
    h.extend(0x20Bu16.to_le_bytes());
    h.extend([14u8, 0]); // linker version
    h.extend(0u32.to_le_bytes()); // size of code
    h.extend((raw_size as u32).to_le_bytes()); // initialised data
    h.extend(0u32.to_le_bytes()); // uninitialised data
    h.extend(0u32.to_le_bytes()); // entry point
    h.extend(0u32.to_le_bytes()); // base of code
    h.extend(0x1_4000_0000u64.to_le_bytes()); // image base
    h.extend((SECTION_ALIGN as u32).to_le_bytes());
    h.extend((FILE_ALIGN as u32).to_le_bytes());
    h.extend(6u16.to_le_bytes()); // OS version
    h.extend(0u16.to_le_bytes());
    h.extend(0u16.to_le_bytes()); // image version
    h.extend(0u16.to_le_bytes());
    h.extend(6u16.to_le_bytes()); // subsystem version
    h.extend(0u16.to_le_bytes());
    h.extend(0u32.to_le_bytes()); // Win32 version value
    h.extend((image_size as u32).to_le_bytes());
    h.extend((FILE_ALIGN as u32).to_le_bytes()); // size of headers
    h.extend(0u32.to_le_bytes()); // checksum
    h.extend(3u16.to_le_bytes()); // console subsystem
    h.extend(0x8160u16.to_le_bytes()); // DLL characteristics
    h.extend(0x10_0000u64.to_le_bytes()); // stack reserve
    h.extend(0x1000u64.to_le_bytes()); // stack commit
    h.extend(0x10_0000u64.to_le_bytes()); // heap reserve
    h.extend(0x1000u64.to_le_bytes()); // heap commit
    h.extend(0u32.to_le_bytes()); // loader flags
    h.extend(16u32.to_le_bytes()); // data directories
    for i in 0..16 {
        let (rva, size) = if i == 2 {
            (RSRC_RVA, rsrc.len() as u32)
        } else {
            (0, 0)
        };
        h.extend(rva.to_le_bytes());
        h.extend(size.to_le_bytes());
    }
    // Section table.
    h.extend(b".rsrc\0\0\0");
    h.extend((rsrc.len() as u32).to_le_bytes()); // virtual size
    h.extend(RSRC_RVA.to_le_bytes());
    h.extend((raw_size as u32).to_le_bytes());
    h.extend((FILE_ALIGN as u32).to_le_bytes()); // raw data pointer
    h.extend([0u8; 12]); // relocations, line numbers, their counts
    h.extend(0x4000_0040u32.to_le_bytes()); // initialised data, readable
    out[0x80..0x80 + h.len()].copy_from_slice(&h);
    out.extend(&rsrc);
    out.resize(FILE_ALIGN + raw_size, 0);
    out
}

/// The resource tree type → name → language → data, with the data after it.
fn resource_section(data: &[u8]) -> Vec<u8> {
    fn directory(out: &mut Vec<u8>, id: u32, target: u32) {
        out.extend([0u8; 12]); // characteristics, time stamp, version
        out.extend(0u16.to_le_bytes()); // named entries
        out.extend(1u16.to_le_bytes()); // id entries
        out.extend(id.to_le_bytes());
        out.extend(target.to_le_bytes());
    }
    const SUBDIR: u32 = 0x8000_0000;
    let mut s = Vec::new();
    directory(&mut s, RT_VERSION, SUBDIR | 0x18);
    directory(&mut s, 1, SUBDIR | 0x30);
    directory(&mut s, LANG_EN_US, 0x48);
    s.extend((RSRC_RVA + 0x58).to_le_bytes());
    s.extend((data.len() as u32).to_le_bytes());
    s.extend(0u32.to_le_bytes()); // code page
    s.extend(0u32.to_le_bytes());
    debug_assert_eq!(s.len(), 0x58);
    s.extend(data);
    s
}

enum Value<'a> {
    None,
    Binary(&'a [u8]),
    Text(&'a str),
}

/// One `VS_VERSIONINFO`-style block: length, value length, type, key, value, children,
/// each part aligned to 32 bits.
fn block(key: &str, value: Value, children: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0u8; 6];
    b.extend(key.encode_utf16().chain([0]).flat_map(u16::to_le_bytes));
    pad4(&mut b);
    let (value_len, kind) = match value {
        Value::None => (0, 1u16),
        Value::Binary(v) => {
            b.extend(v);
            (v.len(), 0)
        }
        Value::Text(t) => {
            let units: Vec<u16> = t.encode_utf16().chain([0]).collect();
            b.extend(units.iter().flat_map(|u| u.to_le_bytes()));
            (units.len(), 1)
        }
    };
    for child in children {
        pad4(&mut b);
        b.extend(child);
    }
    let len = b.len() as u16;
    b[0..2].copy_from_slice(&len.to_le_bytes());
    b[2..4].copy_from_slice(&(value_len as u16).to_le_bytes());
    b[4..6].copy_from_slice(&kind.to_le_bytes());
    b
}

fn pad4(b: &mut Vec<u8>) {
    b.resize(b.len().div_ceil(4) * 4, 0);
}

fn version_resource(info: &VersionInfo) -> Vec<u8> {
    let v = info.file_version;
    let ms = (u32::from(v[0]) << 16) | u32::from(v[1]);
    let ls = (u32::from(v[2]) << 16) | u32::from(v[3]);
    let mut fixed = Vec::new();
    for x in [
        0xFEEF_04BDu32,
        0x0001_0000,
        ms,
        ls,
        ms,
        ls,
        0x3F,
        0,
        0x0004_0004,
        1,
        0,
        0,
        0,
    ] {
        fixed.extend(x.to_le_bytes());
    }
    let strings = [
        ("CompanyName", "Microsoft Corporation"),
        ("FileDescription", "Exchange Setup"),
        ("FileVersion", info.file_version_string.as_str()),
        ("ProductName", info.product_name.as_str()),
        ("ProductVersion", info.product_version_string.as_str()),
    ];
    let table: Vec<Vec<u8>> = strings
        .iter()
        .map(|(k, val)| block(k, Value::Text(val), &[]))
        .collect();
    let string_file_info = block(
        "StringFileInfo",
        Value::None,
        &[block("040904B0", Value::None, &table)],
    );
    let translation = [0x09u8, 0x04, 0xB0, 0x04];
    let var_file_info = block(
        "VarFileInfo",
        Value::None,
        &[block("Translation", Value::Binary(&translation), &[])],
    );
    block(
        "VS_VERSION_INFO",
        Value::Binary(&fixed),
        &[string_file_info, var_file_info],
    )
}
