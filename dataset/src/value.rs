//! How a Rust value is stored in a column and read back: plain strings, integers and
//! booleans, and typed values kept as text (enums, lists) so that the Parquet files stay plain
//! for any reader while the rows the analyzer reads are typed.

use std::ops::Deref;

use exfleet_proto::kinds::{
    CachedFileState, ConfigFileKind, EventKind, InstallerPackageKind, IocKind, MsiLineKind,
    ScActionKind, SetupLineKind,
};
use exfleet_proto::v1::{service_control_run, setup_run, stored_snapshot};
use polars::prelude::*;

/// A column's value type.
pub trait Value: Clone + Default {
    /// The type as DATASET.md names it.
    const TYPE: &'static str;
    /// The column's polars type.
    fn dtype() -> DataType;
    /// A column of these values.
    fn column(name: &str, values: Vec<Self>) -> Column;
    /// The values of a column (a null reads as the default).
    fn read(column: &Column) -> PolarsResult<Vec<Self>>;
}

/// The plain column types: stored as they are.
macro_rules! plain {
    ($t:ty, $name:literal, $dtype:expr, $get:ident, $own:expr) => {
        impl Value for $t {
            const TYPE: &'static str = $name;
            fn dtype() -> DataType {
                $dtype
            }
            fn column(name: &str, values: Vec<Self>) -> Column {
                Column::new(name.into(), values)
            }
            fn read(column: &Column) -> PolarsResult<Vec<Self>> {
                let c = column.cast(&$dtype)?;
                Ok(c.$get()?.iter().map($own).collect())
            }
        }
    };
}

plain!(String, "string", DataType::String, str, owned);
plain!(
    i64,
    "int64",
    DataType::Int64,
    i64,
    Option::unwrap_or_default
);
plain!(
    bool,
    "bool",
    DataType::Boolean,
    bool,
    Option::unwrap_or_default
);

fn owned(v: Option<&str>) -> String {
    v.unwrap_or_default().to_string()
}

/// A typed value stored as a string column.
pub trait Text: Clone + Default {
    /// The stored text.
    fn to_text(&self) -> String;
    /// The value of a stored text.
    fn from_text(s: &str) -> Self;
}

impl<T: Text> Value for T {
    const TYPE: &'static str = "string";
    fn dtype() -> DataType {
        DataType::String
    }
    fn column(name: &str, values: Vec<Self>) -> Column {
        let texts: Vec<String> = values.iter().map(Text::to_text).collect();
        Column::new(name.into(), texts)
    }
    fn read(column: &Column) -> PolarsResult<Vec<Self>> {
        Ok(String::read(column)?
            .iter()
            .map(|s| T::from_text(s))
            .collect())
    }
}

macro_rules! kind_text {
    ($($t:ty),*) => {$(
        impl Text for $t {
            fn to_text(&self) -> String {
                self.as_str().to_string()
            }
            fn from_text(s: &str) -> Self {
                <$t>::parse(s)
            }
        }
    )*};
}
kind_text!(
    SetupLineKind,
    ScActionKind,
    MsiLineKind,
    ConfigFileKind,
    EventKind,
    InstallerPackageKind,
    CachedFileState,
    IocKind
);

impl Text for setup_run::Outcome {
    fn to_text(&self) -> String {
        use setup_run::Outcome::*;
        match self {
            Succeeded => "succeeded",
            Failed => "failed",
            EndedUnknown => "ended_unknown",
            CutOff => "cut_off",
            Unspecified => "",
        }
        .into()
    }
    fn from_text(s: &str) -> Self {
        use setup_run::Outcome::*;
        match s {
            "succeeded" => Succeeded,
            "failed" => Failed,
            "ended_unknown" => EndedUnknown,
            "cut_off" => CutOff,
            _ => Unspecified,
        }
    }
}

impl Text for service_control_run::Outcome {
    fn to_text(&self) -> String {
        use service_control_run::Outcome::*;
        match self {
            Succeeded => "succeeded",
            Errors => "errors",
            CutOff => "cut_off",
            Unspecified => "",
        }
        .into()
    }
    fn from_text(s: &str) -> Self {
        use service_control_run::Outcome::*;
        match s {
            "succeeded" => Succeeded,
            "errors" => Errors,
            "cut_off" => CutOff,
            _ => Unspecified,
        }
    }
}

impl Text for exfleet_proto::v1::collection_source::Kind {
    fn to_text(&self) -> String {
        use exfleet_proto::v1::collection_source::Kind::*;
        match self {
            Live => "live",
            Triage => "triage",
            Unspecified => "",
        }
        .into()
    }
    fn from_text(s: &str) -> Self {
        use exfleet_proto::v1::collection_source::Kind::*;
        match s {
            "live" => Live,
            "triage" => Triage,
            _ => Unspecified,
        }
    }
}

impl Text for stored_snapshot::IdentityKind {
    fn to_text(&self) -> String {
        use stored_snapshot::IdentityKind::*;
        match self {
            Server => "server",
            Triage => "triage",
            Unspecified => "",
        }
        .into()
    }
    fn from_text(s: &str) -> Self {
        use stored_snapshot::IdentityKind::*;
        match s {
            "server" => Server,
            "triage" => Triage,
            _ => Unspecified,
        }
    }
}

/// Where a binding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindingKind {
    /// An IIS site binding (applicationHost.config).
    #[default]
    Iis,
    /// An HTTP.sys TLS binding (SslBindingInfo).
    HttpSys,
}

impl BindingKind {
    /// The value as the dataset writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::Iis => "iis",
            BindingKind::HttpSys => "http_sys",
        }
    }
}

impl Text for BindingKind {
    fn to_text(&self) -> String {
        self.as_str().into()
    }
    fn from_text(s: &str) -> Self {
        if s == "http_sys" {
            BindingKind::HttpSys
        } else {
            BindingKind::Iis
        }
    }
}

/// A list stored comma-separated (its items hold no comma): strings, or numbers such as line
/// numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T = String>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T> Deref for List<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<S: ToString> FromIterator<S> for List {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        List(iter.into_iter().map(|s| s.to_string()).collect())
    }
}

impl<T: Clone + std::fmt::Display + std::str::FromStr> Text for List<T> {
    fn to_text(&self) -> String {
        self.0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
    /// Items that do not parse as `T` are left out (the collector writes only valid ones).
    fn from_text(s: &str) -> Self {
        List(
            s.split(',')
                .filter(|x| !x.is_empty())
                .filter_map(|x| x.parse().ok())
                .collect(),
        )
    }
}

/// A list stored as a JSON array of strings (its items may hold anything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonList(pub Vec<String>);

impl Deref for JsonList {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.0
    }
}

impl Text for JsonList {
    fn to_text(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }
    fn from_text(s: &str) -> Self {
        JsonList(serde_json::from_str(s).unwrap_or_default())
    }
}
