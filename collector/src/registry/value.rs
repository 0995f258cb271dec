//! Registry values as the readers use them, decoded the same way from both sources.

/// A registry value's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// REG_SZ and REG_EXPAND_SZ (unexpanded), trailing NULs removed.
    String(String),
    /// REG_MULTI_SZ, its strings in order (the empty string that ends the list removed).
    MultiString(Vec<String>),
    /// REG_DWORD (and REG_DWORD_BIG_ENDIAN, converted).
    Dword(u32),
    /// REG_QWORD.
    Qword(u64),
    /// REG_BINARY, and any other type's bytes as they are.
    Binary(Vec<u8>),
    /// REG_NONE, or data that does not fit its type (a DWORD of two bytes).
    None,
}

/// REG_* type codes (winnt.h).
mod types {
    pub const SZ: u32 = 1;
    pub const EXPAND_SZ: u32 = 2;
    pub const BINARY: u32 = 3;
    pub const DWORD: u32 = 4;
    pub const DWORD_BIG_ENDIAN: u32 = 5;
    pub const MULTI_SZ: u32 = 7;
    pub const QWORD: u32 = 11;
}

impl Value {
    /// Decodes a value's raw data as `RegQueryValueEx` returns it: `kind` is the REG_* type
    /// code, strings are UTF-16LE.
    pub fn from_raw(kind: u32, data: &[u8]) -> Value {
        match kind {
            types::SZ | types::EXPAND_SZ => Value::String(
                utf16(data)
                    .split('\0')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ),
            types::MULTI_SZ => {
                let text = utf16(data);
                let mut list: Vec<String> = text.split('\0').map(str::to_string).collect();
                // "a\0b\0\0" splits into a, b and two empty strings: the list's terminator.
                while list.last().is_some_and(String::is_empty) {
                    list.pop();
                }
                Value::MultiString(list)
            }
            types::DWORD => match <[u8; 4]>::try_from(data) {
                Ok(b) => Value::Dword(u32::from_le_bytes(b)),
                Err(_) => Value::None,
            },
            types::DWORD_BIG_ENDIAN => match <[u8; 4]>::try_from(data) {
                Ok(b) => Value::Dword(u32::from_be_bytes(b)),
                Err(_) => Value::None,
            },
            types::QWORD => match <[u8; 8]>::try_from(data) {
                Ok(b) => Value::Qword(u64::from_le_bytes(b)),
                Err(_) => Value::None,
            },
            types::BINARY => Value::Binary(data.to_vec()),
            0 => Value::None,
            _ => Value::Binary(data.to_vec()),
        }
    }
}

/// UTF-16LE to a string, an odd last byte dropped and unpaired surrogates replaced.
fn utf16(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

impl From<notatin::cell_value::CellValue> for Value {
    fn from(v: notatin::cell_value::CellValue) -> Value {
        use notatin::cell_value::CellValue as C;
        match v {
            C::String(s) => Value::String(s.trim_end_matches('\0').to_string()),
            C::MultiString(v) => Value::MultiString(v),
            C::U32(n) => Value::Dword(n),
            C::I32(n) => Value::Dword(n as u32),
            C::U64(n) => Value::Qword(n),
            C::I64(n) => Value::Qword(n as u64),
            C::Binary(b) => Value::Binary(b),
            C::None | C::Error => Value::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16z(parts: &[&str]) -> Vec<u8> {
        parts
            .iter()
            .flat_map(|s| s.encode_utf16().chain([0]))
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    #[test]
    fn strings_lose_their_terminators() {
        assert_eq!(
            Value::from_raw(1, &utf16z(&["V15"])),
            Value::String("V15".into())
        );
        assert_eq!(
            Value::from_raw(2, &utf16z(&[r"%SystemRoot%\x"])),
            Value::String(r"%SystemRoot%\x".into())
        );
        let multi = utf16z(&["a", "b", ""]);
        assert_eq!(
            Value::from_raw(7, &multi),
            Value::MultiString(vec!["a".into(), "b".into()])
        );
        // An empty string inside the list is kept; only the terminator goes.
        let multi = utf16z(&["a", "", "b", ""]);
        assert_eq!(
            Value::from_raw(7, &multi),
            Value::MultiString(vec!["a".into(), "".into(), "b".into()])
        );
    }

    #[test]
    fn numbers_must_have_their_width() {
        assert_eq!(Value::from_raw(4, &7u32.to_le_bytes()), Value::Dword(7));
        assert_eq!(Value::from_raw(5, &7u32.to_be_bytes()), Value::Dword(7));
        assert_eq!(Value::from_raw(11, &9u64.to_le_bytes()), Value::Qword(9));
        assert_eq!(Value::from_raw(4, &[1, 2]), Value::None);
        assert_eq!(Value::from_raw(3, &[1, 2]), Value::Binary(vec![1, 2]));
    }
}
