//! A prefix of a bucket on an S3-compatible object store, through the `object_store` crate:
//! where several aggregators keep their snapshots and the dataset, and where the analyzer
//! reads it. Named by a URL, `s3://<bucket>/<prefix>`; the endpoint and the credentials come
//! from the standard AWS environment variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`; `AWS_CONDITIONAL_PUT=disabled`
//! for a server that refuses `If-None-Match`).
//!
//! The calls block (the store, the dataset writer and the analyzer are blocking code): each
//! runs on a small runtime of its own, so that they may be made from any thread.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

/// A failure of the object store, naming the object (`s3://bucket/prefix/key`).
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// The URL or the environment does not name a usable bucket.
    #[error("{url}: {message}")]
    Config {
        /// The URL given.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A request failed.
    #[error("{url}: {source}")]
    Request {
        /// The object or prefix.
        url: String,
        /// What the store said.
        source: object_store::Error,
    },
}

/// What a create-only put found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The object is new.
    New,
    /// The key existed (the server answered 412 to `If-None-Match: *`): nothing written.
    Exists,
}

/// An object listed under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key, relative to the bucket's prefix.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, UTC ms.
    pub modified_ms: i64,
}

/// A prefix of a bucket. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Bucket {
    store: Arc<AmazonS3>,
    bucket: String,
    /// The prefix inside the bucket, without slashes at its ends (empty: the whole bucket).
    prefix: String,
    /// Whether the server takes `If-None-Match: *` (`AWS_CONDITIONAL_PUT` is not `disabled`).
    conditional: Arc<std::sync::atomic::AtomicBool>,
}

/// Whether `location` names an object store rather than a folder.
pub fn is_url(location: &str) -> bool {
    location.starts_with("s3://")
}

/// The runtime the calls run on (never dropped: a runtime may not be dropped inside another).
fn io() -> &'static tokio::runtime::Runtime {
    static IO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    IO.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("exfleet-s3")
            .enable_all()
            .build()
            .expect("the object store's runtime")
    })
}

/// Runs `f` on the I/O runtime and waits for it, from any thread.
fn block<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = mpsc::sync_channel(1);
    io().spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv().expect("the object store's runtime runs")
}

impl Bucket {
    /// Opens `s3://<bucket>/<prefix>` with the endpoint and credentials of the environment.
    pub fn open(url: &str) -> Result<Bucket, BucketError> {
        let config = |message: String| BucketError::Config {
            url: url.to_string(),
            message,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| config("not an s3:// URL".into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(config("no bucket name (s3://<bucket>/<prefix>)".into()));
        }
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| config(e.to_string()))?;
        let conditional = std::env::var("AWS_CONDITIONAL_PUT")
            .map_or(true, |v| !v.eq_ignore_ascii_case("disabled"));
        Ok(Bucket {
            store: Arc::new(store),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            conditional: Arc::new(conditional.into()),
        })
    }

    /// The same bucket under `sub` (a folder of this prefix).
    pub fn child(&self, sub: &str) -> Bucket {
        let mut b = self.clone();
        b.prefix = self.full(sub.trim_matches('/'));
        b
    }

    /// `s3://<bucket>/<prefix>/<key>`, for messages.
    pub fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full(key))
    }

    /// This prefix's URL.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn full(&self, key: &str) -> String {
        match (self.prefix.is_empty(), key.is_empty()) {
            (true, _) => key.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{key}", self.prefix),
        }
    }

    fn request(&self, key: &str) -> impl FnOnce(object_store::Error) -> BucketError {
        let url = self.url_of(key);
        move |source| BucketError::Request { url, source }
    }

    /// Writes an object (replacing one of the same key); durable when it returns.
    pub fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BucketError> {
        let (store, at) = (self.store.clone(), Key::from(self.full(key)));
        block(async move { store.put(&at, PutPayload::from(bytes)).await })
            .map(|_| ())
            .map_err(self.request(key))
    }

    /// Whether [`Bucket::create`] is create-only here: false once `AWS_CONDITIONAL_PUT` is
    /// `disabled`, or the server answered a conditional put "not implemented" (then
    /// `create` is an ordinary put, and claims made with it are not exclusive).
    pub fn conditional_put(&self) -> bool {
        self.conditional.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Writes an object only if its key is new (`If-None-Match: *`). Where the server does
    /// not take the condition (`AWS_CONDITIONAL_PUT=disabled`), an ordinary put: the keys
    /// written this way hold the same content whoever writes them.
    pub fn create(&self, key: &str, bytes: Vec<u8>) -> Result<Created, BucketError> {
        use std::sync::atomic::Ordering;
        if !self.conditional.load(Ordering::Relaxed) {
            return self.put(key, bytes).map(|()| Created::New);
        }
        let (store, at) = (self.store.clone(), Key::from(self.full(key)));
        let payload = PutPayload::from(bytes);
        let again = payload.clone();
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match block(async move { store.put_opts(&at, payload, opts).await }) {
            Ok(_) => Ok(Created::New),
            // S3 answers 409 (which object_store reports as AlreadyExists too) while another
            // conditional write of the key is still in progress, and that one may yet fail:
            // "already stored" only once the object can be seen.
            Err(object_store::Error::AlreadyExists { .. }) => {
                let (store, at) = (self.store.clone(), Key::from(self.full(key)));
                match block(async move { store.head(&at).await }) {
                    Ok(_) => Ok(Created::Exists),
                    Err(object_store::Error::NotFound { .. }) => {
                        Err(self.request(key)(object_store::Error::Generic {
                            store: "bucket",
                            source: "another write of this key is in progress and its object                                      is not there yet: try again"
                                .into(),
                        }))
                    }
                    Err(e) => Err(self.request(key)(e)),
                }
            }
            Err(object_store::Error::NotImplemented { .. }) => {
                tracing::warn!(
                    url = %self.url(),
                    "the object store takes no conditional put: writes are idempotent by key"
                );
                self.conditional.store(false, Ordering::Relaxed);
                let (store, at) = (self.store.clone(), Key::from(self.full(key)));
                block(async move { store.put(&at, again).await })
                    .map(|_| Created::New)
                    .map_err(self.request(key))
            }
            Err(e) => Err(self.request(key)(e)),
        }
    }

    /// Reads an object; `None` when there is none of that key.
    pub fn get(&self, key: &str) -> Result<Option<Bytes>, BucketError> {
        let (store, at) = (self.store.clone(), Key::from(self.full(key)));
        let got = block(async move {
            match store.get(&at).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        got.map_err(self.request(key))
    }

    /// Every object under `dir` (recursively), keys relative to this prefix, sorted.
    pub fn list(&self, dir: &str) -> Result<Vec<Listed>, BucketError> {
        let store = self.store.clone();
        let at = Key::from(self.full(dir));
        let listed = block(async move { store.list(Some(&at)).try_collect::<Vec<_>>().await })
            .map_err(self.request(dir))?;
        let base = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut out: Vec<Listed> = listed
            .into_iter()
            .filter_map(|m| {
                let key = m.location.as_ref().strip_prefix(&base)?.to_string();
                Some(Listed {
                    key,
                    size: m.size,
                    modified_ms: m.last_modified.timestamp_millis(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Deletes an object (none of that key is not an error).
    pub fn delete(&self, key: &str) -> Result<(), BucketError> {
        let (store, at) = (self.store.clone(), Key::from(self.full(key)));
        match block(async move { store.delete(&at).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.request(key)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_a_prefix() {
        let b = Bucket::open("s3://fleet/exfleet/prod/").unwrap();
        assert_eq!(b.url(), "s3://fleet/exfleet/prod");
        assert_eq!(
            b.child("dataset").url_of("_flushed/x.ids"),
            "s3://fleet/exfleet/prod/dataset/_flushed/x.ids"
        );
        let whole = Bucket::open("s3://fleet").unwrap();
        assert_eq!(whole.url_of("a/b"), "s3://fleet/a/b");
        let e = Bucket::open("s3:///x").unwrap_err().to_string();
        assert!(e.contains("no bucket name"), "{e}");
        assert!(Bucket::open("/var/lib/exfleet").is_err());
        assert!(is_url("s3://fleet") && !is_url("./s3:/x"));
    }
}
