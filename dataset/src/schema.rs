//! The machinery that turns the one definition of each table (`tables.rs`) into everything
//! else: the [`Table`](crate::Table) list, a typed row struct per table with its columns'
//! frame and its reading back, [`TableSet`](crate::TableSet) (one value per table, by name,
//! never by position), [`Batch`](crate::Batch) (rows of every table) and the column docs
//! DATASET.md is generated from.

use polars::prelude::*;

use crate::value::Value;

/// The three key columns every row starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Key {
    /// The snapshot (UUID) the row comes from.
    pub snapshot_id: String,
    /// NetBIOS name the server reports (SYSTEM hive).
    pub host: String,
    /// Collection time, UTC ms since the epoch.
    pub collected_at_ms: i64,
}

/// A column as documented: name, type, meaning.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// Column name.
    pub name: &'static str,
    /// Type as DATASET.md names it (`string`, `int64`, `bool`).
    pub kind: &'static str,
    /// Its polars type.
    pub dtype: fn() -> DataType,
    /// Meaning (the field's doc comment).
    pub doc: &'static str,
}

/// The key columns, first in every table.
pub const KEY_COLUMNS: &[ColumnDef] = &[
    ColumnDef {
        name: "snapshot_id",
        kind: <String as Value>::TYPE,
        dtype: <String as Value>::dtype,
        doc: "the snapshot (UUID) the row comes from",
    },
    ColumnDef {
        name: "host",
        kind: <String as Value>::TYPE,
        dtype: <String as Value>::dtype,
        doc: "NetBIOS name the server reports (SYSTEM hive)",
    },
    ColumnDef {
        name: "collected_at_ms",
        kind: <i64 as Value>::TYPE,
        dtype: <i64 as Value>::dtype,
        doc: "collection time, UTC ms since the epoch",
    },
];

/// A table's typed row.
pub trait Row: Sized {
    /// The table it is a row of.
    const TABLE: crate::Table;
    /// Its columns after the key, in order.
    const COLUMNS: &'static [ColumnDef];
    /// The row's key.
    fn key(&self) -> &Key;
    /// The rows as a frame (key columns first).
    fn frame(rows: &[Self]) -> PolarsResult<DataFrame>;
    /// The rows of a frame of this table. A missing column is an error naming it; a null
    /// (a file written before the column existed) reads as the default.
    fn read(df: &DataFrame) -> PolarsResult<Vec<Self>>;
}

/// The key columns of rows.
pub(crate) fn key_columns<'a>(keys: impl Iterator<Item = &'a Key> + Clone) -> Vec<Column> {
    vec![
        String::column(
            "snapshot_id",
            keys.clone().map(|k| k.snapshot_id.clone()).collect(),
        ),
        String::column("host", keys.clone().map(|k| k.host.clone()).collect()),
        i64::column("collected_at_ms", keys.map(|k| k.collected_at_ms).collect()),
    ]
}

/// The keys of a frame's rows.
pub(crate) fn read_keys(df: &DataFrame) -> PolarsResult<Vec<Key>> {
    let ids = String::read(df.column("snapshot_id")?)?;
    let hosts = String::read(df.column("host")?)?;
    let at = i64::read(df.column("collected_at_ms")?)?;
    Ok(ids
        .into_iter()
        .zip(hosts)
        .zip(at)
        .map(|((snapshot_id, host), collected_at_ms)| Key {
            snapshot_id,
            host,
            collected_at_ms,
        })
        .collect())
}

/// A column of `df` by name, or an error naming the table and the column.
pub(crate) fn column<'a>(
    df: &'a DataFrame,
    table: crate::Table,
    name: &str,
) -> PolarsResult<&'a Column> {
    df.column(name)
        .map_err(|_| polars_err!(ColumnNotFound: "table {}: no column {name}", table.name()))
}

/// Generates the dataset's types from the table definitions (see the module doc).
macro_rules! tables {
    ($(
        $(#[doc = $tdoc:literal])*
        $table:ident: $Variant:ident => $Row:ident {
            $( $(#[doc = $cdoc:literal])* $col:ident: $ty:ty, )*
        }
    )*) => {
        /// A table of the dataset.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Table {
            $( $(#[doc = $tdoc])* $Variant, )*
        }

        impl Table {
            /// Every table, in the order DATASET.md lists them.
            pub const ALL: &'static [Table] = &[$(Table::$Variant,)*];

            /// The table's name: its directory in the dataset.
            pub fn name(self) -> &'static str {
                match self { $(Table::$Variant => stringify!($table),)* }
            }

            /// The table named `name`.
            pub fn from_name(name: &str) -> Option<Table> {
                Table::ALL.iter().copied().find(|t| t.name() == name)
            }

            /// What a row is (the definition's doc comment).
            pub fn doc(self) -> &'static str {
                match self { $(Table::$Variant => concat!($($tdoc, "\n",)*),)* }
            }

            /// The columns after the key.
            pub fn columns(self) -> &'static [$crate::schema::ColumnDef] {
                match self { $(Table::$Variant => <$Row as $crate::schema::Row>::COLUMNS,)* }
            }

            /// The full schema, key columns first.
            pub fn schema(self) -> polars::prelude::Schema {
                $crate::schema::KEY_COLUMNS
                    .iter()
                    .chain(self.columns())
                    .map(|c| polars::prelude::Field::new(c.name.into(), (c.dtype)()))
                    .collect()
            }

            /// An empty frame of the table.
            pub fn empty_frame(self) -> polars::prelude::DataFrame {
                polars::prelude::DataFrame::empty_with_schema(&self.schema())
            }
        }

        $(
            $(#[doc = $tdoc])*
            #[derive(Debug, Clone, Default, PartialEq)]
            pub struct $Row {
                /// The snapshot the row comes from.
                pub key: $crate::schema::Key,
                $( $(#[doc = $cdoc])* pub $col: $ty, )*
            }

            impl $crate::schema::Row for $Row {
                const TABLE: Table = Table::$Variant;
                const COLUMNS: &'static [$crate::schema::ColumnDef] = &[$(
                    $crate::schema::ColumnDef {
                        name: stringify!($col),
                        kind: <$ty as $crate::value::Value>::TYPE,
                        dtype: <$ty as $crate::value::Value>::dtype,
                        doc: concat!($($cdoc, "\n",)*),
                    },
                )*];

                fn key(&self) -> &$crate::schema::Key {
                    &self.key
                }

                fn frame(rows: &[Self]) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
                    #[allow(unused_mut)]
                    let mut columns = $crate::schema::key_columns(rows.iter().map(|r| &r.key));
                    $(columns.push(<$ty as $crate::value::Value>::column(
                        stringify!($col),
                        rows.iter().map(|r| r.$col.clone()).collect(),
                    ));)*
                    polars::prelude::DataFrame::new(rows.len(), columns)
                }

                fn read(df: &polars::prelude::DataFrame) -> polars::prelude::PolarsResult<Vec<Self>> {
                    let keys = $crate::schema::read_keys(df)?;
                    $(let mut $col = <$ty as $crate::value::Value>::read(
                        $crate::schema::column(df, Table::$Variant, stringify!($col))?,
                    )?.into_iter();)*
                    Ok(keys
                        .into_iter()
                        .map(|key| $Row { key, $($col: $col.next().unwrap_or_default(),)* })
                        .collect())
                }
            }
        )*

        /// One value per table, reached by the table, never by position.
        #[derive(Debug, Clone, Default)]
        pub struct TableSet<T> {
            $( #[doc = concat!("`", stringify!($table), "`.")] pub $table: T, )*
        }

        impl<T> TableSet<T> {
            /// The value of every table from a function of the table.
            pub fn try_from_fn<E>(mut f: impl FnMut(Table) -> Result<T, E>) -> Result<Self, E> {
                Ok(TableSet { $($table: f(Table::$Variant)?,)* })
            }

            /// The value of `table`.
            pub fn get(&self, table: Table) -> &T {
                match table { $(Table::$Variant => &self.$table,)* }
            }

            /// Every table with its value.
            pub fn iter(&self) -> impl Iterator<Item = (Table, &T)> {
                Table::ALL.iter().map(move |&t| (t, self.get(t)))
            }

            /// A new set from every value.
            pub fn try_map<U, E>(&self, mut f: impl FnMut(Table, &T) -> Result<U, E>) -> Result<TableSet<U>, E> {
                TableSet::try_from_fn(|t| f(t, self.get(t)))
            }
        }

        /// Rows of every table (a batch of snapshots, flattened).
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Batch {
            $( #[doc = concat!("`", stringify!($table), "` rows.")] pub $table: Vec<$Row>, )*
        }

        impl Batch {
            /// The rows as one frame per table.
            pub fn frames(&self) -> polars::prelude::PolarsResult<TableSet<polars::prelude::DataFrame>> {
                Ok(TableSet { $($table: <$Row as $crate::schema::Row>::frame(&self.$table)?,)* })
            }

            /// The rows of one frame per table.
            pub fn from_frames(frames: &TableSet<polars::prelude::DataFrame>) -> polars::prelude::PolarsResult<Batch> {
                Ok(Batch { $($table: <$Row as $crate::schema::Row>::read(&frames.$table)?,)* })
            }
        }
    };
}

pub(crate) use tables;
