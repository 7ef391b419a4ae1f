//! Package signatures: who published a package, and that nothing in it changed since.
//!
//! The seed says packages are signed but not how. The scheme (also in the README):
//!
//! - The signed text is the package's [`listing`]: the line `logi-plugin-package-listing v1`,
//!   then one line per file in path order, `<SHA-256 of its contents, hex>  <path>` (the format
//!   of `sha256sum`, so it can be rebuilt with standard tools).
//! - The signature is Ed25519 over that text, stored in the archive at [`SIGNATURE_PATH`] as JSON:
//!   `{"format": "logi-plugin-signature/1", "publisher": …, "key": <hex>, "signature": <hex>}`.
//! - Verifying rebuilds the listing from the files present, so a file changed, added or removed
//!   after signing breaks it; the key must then be in the host's [`TrustStore`].
//! - Outside development mode, unsigned, wrongly signed and untrusted packages are refused; in
//!   development mode they are accepted, and [`Trust::Development`] says why they would not be.
//! - An installed plugin keeps its signature and the listing it covers ([`LISTING_PATH`]) in its
//!   folder; the host checks them again at each start ([`Package::verify_installed`]), so files
//!   changed on disk since the install are caught. Files the listing does not name (made by
//!   installation commands, or by the plugin) are not checked.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{Package, PackageError, PackageFile, write_file};

use crate::paths::SIGNATURE_PATH;

/// Where an installed plugin keeps the listing its signature covers.
pub const LISTING_PATH: &str = "META-INF/listing.txt";

/// The first line of a listing: the scheme's version.
const LISTING_HEADER: &str = "logi-plugin-package-listing v1";

/// The `format` of a signature file.
const FORMAT: &str = "logi-plugin-signature/1";

/// A publisher's signing key. Its text form is the 32-byte seed in hex.
pub struct SecretKey(SigningKey);

/// A publisher's public key, as the trust store and signature files write it: 32 bytes in hex.
/// Kept as its bytes (checked to be a curve point when made), not as the 200-byte expanded key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

/// Why a key's text cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} {text:?} is not a key: {reason}")]
pub struct KeyError {
    /// Which kind of key was expected.
    what: &'static str,
    /// The text, cut to 80 characters.
    text: String,
    /// What is wrong with it.
    reason: String,
}

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<SecretKey, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// The key others verify with.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// The text to keep in a secret file.
    pub fn to_text(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// Reads [`SecretKey::to_text`]'s form; surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<SecretKey, KeyError> {
        let seed = hex_bytes::<32>("secret key", text.trim())?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public_key())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<PublicKey, KeyError> {
        let bytes = hex_bytes::<32>("public key", text.trim())?;
        VerifyingKey::from_bytes(&bytes)
            .map(|_| PublicKey(bytes))
            .map_err(|error| key_error("public key", text, error.to_string()))
    }
}

fn hex_bytes<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    hex::decode_to_slice(text, &mut bytes).map_err(|error| {
        key_error(
            what,
            text,
            format!("expected {} hex digits: {error}", N * 2),
        )
    })?;
    Ok(bytes)
}

fn key_error(what: &'static str, text: &str, reason: String) -> KeyError {
    KeyError {
        what,
        text: text.chars().take(80).collect(),
        reason,
    }
}

/// The publisher keys a host accepts, each with the publisher's name.
///
/// Its text form has one key per line, `<hex key> <publisher name>`; blank lines and lines
/// starting with `#` are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStore {
    keys: BTreeMap<PublicKey, String>,
}

impl TrustStore {
    /// Reads the text form; a bad line is reported with its number.
    pub fn parse(text: &str) -> Result<TrustStore, String> {
        let mut store = TrustStore::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let key = key
                .parse()
                .map_err(|error| format!("line {}: {error}", number + 1))?;
            store.add(key, name.trim());
        }
        Ok(store)
    }

    /// Trusts `key`, published by `publisher`.
    pub fn add(&mut self, key: PublicKey, publisher: &str) {
        self.keys.insert(key, publisher.to_string());
    }

    /// The publisher `key` is trusted for.
    pub fn publisher(&self, key: &PublicKey) -> Option<&str> {
        self.keys.get(key).map(String::as_str)
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        self.keys
            .iter()
            .map(|(key, name)| format!("{key} {name}\n"))
            .collect()
    }
}

/// Why a package's signature is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// There is no signature file.
    #[error("the package is not signed (no {SIGNATURE_PATH})")]
    Unsigned,
    /// The signature file cannot be read.
    #[error("{SIGNATURE_PATH}: {0}")]
    Malformed(String),
    /// The signature does not match the files and the key it names.
    #[error(
        "the signature of {publisher:?} (key {key}) does not match the package's files: they \
         were changed after signing"
    )]
    Mismatch {
        /// The publisher the signature file names.
        publisher: String,
        /// The key it names.
        key: PublicKey,
    },
    /// An installed file is not as its signed listing says.
    #[error("{path} was changed or removed since it was installed")]
    Changed {
        /// The file, by path from the plugin's folder.
        path: String,
    },
    /// The signature is good, but the trust store does not hold its key.
    #[error("signed by {publisher:?} with key {key}, which the trust store does not hold")]
    Untrusted {
        /// The publisher the signature file names.
        publisher: String,
        /// The key.
        key: PublicKey,
    },
}

/// Why a package was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Signed with a key of the trust store.
    Publisher {
        /// The publisher, as the trust store names it.
        name: String,
        /// The key.
        key: PublicKey,
    },
    /// Accepted only because development mode is on; outside it, this error refuses it.
    Development(SignatureError),
}

/// The text a signature covers: every file's SHA-256 and path, in path order.
pub fn listing(files: &BTreeMap<String, PackageFile>) -> String {
    let mut text = format!("{LISTING_HEADER}\n");
    for (path, file) in files {
        text.push_str(&format!("{}  {path}\n", digest(&file.bytes)));
    }
    text
}

/// A file's digest as a listing writes it: SHA-256, in hex.
fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Package {
    /// The package's [`listing`], hashed on first use only (the files never change).
    fn listing(&self) -> &str {
        self.listing.get_or_init(|| listing(&self.files))
    }

    /// Signs the package as `publisher`, replacing any signature it had.
    pub fn sign(&mut self, publisher: &str, key: &SecretKey) {
        let signature = key.0.sign(self.listing().as_bytes());
        let file = serde_json::json!({
            "format": FORMAT,
            "publisher": publisher,
            "key": key.public_key().to_string(),
            "signature": hex::encode(signature.to_bytes()),
        });
        let text = serde_json::to_string_pretty(&file).expect("a JSON value always prints");
        self.signature = Some(text.into_bytes());
    }

    /// Checks the signature against the files and `trust`. In `development` mode a package that
    /// would be refused is accepted as [`Trust::Development`], saying why.
    pub fn verify(&self, trust: &TrustStore, development: bool) -> Result<Trust, SignatureError> {
        let checked = self.check_signature(trust, self.listing());
        allow_in_development(checked, development)
    }

    /// Writes the signature, and the listing it covers, into an installed plugin's folder, for
    /// [`verify_installed`](Self::verify_installed) to check at later starts. An unsigned package
    /// writes nothing.
    pub fn keep_signature(&self, dir: &Path) -> Result<(), PackageError> {
        let Some(signature) = &self.signature else {
            return Ok(());
        };
        write_file(dir, SIGNATURE_PATH, signature)?;
        write_file(dir, LISTING_PATH, self.listing().as_bytes())?;
        Ok(())
    }

    /// Checks an installed plugin's folder (read with [`Package::from_dir`]) against what
    /// [`keep_signature`](Self::keep_signature) kept: the signature over the listing, its key in
    /// `trust`, and every listed file unchanged. In `development` mode, as [`verify`](Self::verify).
    pub fn verify_installed(
        &self,
        trust: &TrustStore,
        development: bool,
    ) -> Result<Trust, SignatureError> {
        allow_in_development(self.check_installed(trust), development)
    }

    fn check_installed(&self, trust: &TrustStore) -> Result<Trust, SignatureError> {
        let malformed = |why: String| SignatureError::Malformed(format!("{LISTING_PATH}: {why}"));
        if self.signature.is_none() {
            return Err(SignatureError::Unsigned);
        }
        let kept = self
            .files
            .get(LISTING_PATH)
            .ok_or_else(|| malformed("missing".into()))?;
        let text =
            std::str::from_utf8(&kept.bytes).map_err(|error| malformed(error.to_string()))?;
        let trusted = self.check_signature(trust, text)?;
        let mut lines = text.lines();
        if lines.next() != Some(LISTING_HEADER) {
            return Err(malformed(format!("does not start with {LISTING_HEADER:?}")));
        }
        for line in lines {
            let (listed, path) = line
                .split_once("  ")
                .ok_or_else(|| malformed(format!("line {line:?} is not `<sha256>  <path>`")))?;
            let now = self.files.get(path).map(|file| digest(&file.bytes));
            if now.as_deref() != Some(listed) {
                return Err(SignatureError::Changed { path: path.into() });
            }
        }
        Ok(trusted)
    }

    /// Checks the signature over `listing`, and its key against `trust`.
    fn check_signature(&self, trust: &TrustStore, listing: &str) -> Result<Trust, SignatureError> {
        let file = self.signature.as_deref().ok_or(SignatureError::Unsigned)?;
        let (publisher, key, signature) = read_signature_file(file)?;
        VerifyingKey::from_bytes(&key.0)
            .expect("a PublicKey is a curve point")
            .verify_strict(listing.as_bytes(), &signature)
            .map_err(|_| SignatureError::Mismatch {
                publisher: publisher.clone(),
                key,
            })?;
        match trust.publisher(&key) {
            Some(name) => Ok(Trust::Publisher {
                name: name.to_string(),
                key,
            }),
            None => Err(SignatureError::Untrusted { publisher, key }),
        }
    }
}

/// In development mode, a refusal becomes [`Trust::Development`].
fn allow_in_development(
    checked: Result<Trust, SignatureError>,
    development: bool,
) -> Result<Trust, SignatureError> {
    match checked {
        Err(error) if development => Ok(Trust::Development(error)),
        other => other,
    }
}

/// The publisher, key and signature of a signature file.
fn read_signature_file(
    file: &[u8],
) -> Result<(String, PublicKey, ed25519_dalek::Signature), SignatureError> {
    let malformed = SignatureError::Malformed;
    let value: serde_json::Value =
        serde_json::from_slice(file).map_err(|error| malformed(error.to_string()))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| malformed(format!("`{name}` is missing or not a string")))
    };
    let format = field("format")?;
    if format != FORMAT {
        return Err(malformed(format!(
            "`format` is {format:?}; this host reads {FORMAT:?}"
        )));
    }
    let key = field("key")?
        .parse()
        .map_err(|error: KeyError| malformed(format!("`key`: {error}")))?;
    let signature = hex_bytes::<64>("signature", field("signature")?)
        .map_err(|error| malformed(format!("`signature`: {error}")))?;
    let signature = ed25519_dalek::Signature::from_bytes(&signature);
    Ok((field("publisher")?.to_string(), key, signature))
}
