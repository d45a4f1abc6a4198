//! Secrets at rest: values sealed with XChaCha20-Poly1305 under the master key.
//!
//! A sealed value is text, so it fits the same TEXT columns on both backends:
//! `sealed:v1:<key id>:<base64url(nonce ‖ ciphertext)>`. The key id (8 hex
//! digits of a hash of the key) says which master key sealed it, so a wrong
//! or missing key is reported by name instead of as garbage. Each value is
//! bound to where it lives (`webhook-secret:wh_…`) as associated data: a
//! sealed value copied into another row does not open.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A master key and its public id.
struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
    /// Key for [`Vault::derive`], separate from the sealing key.
    derive: [u8; 32],
}

impl MasterKey {
    fn new(bytes: &[u8; 32]) -> MasterKey {
        let mut h = Sha256::new();
        h.update(b"hookrelay derive v1\0");
        h.update(bytes);
        MasterKey {
            id: key_id(bytes),
            cipher: XChaCha20Poly1305::new(Key::from_slice(bytes)),
            derive: h.finalize().into(),
        }
    }
}

/// Seals and opens secrets. The first key seals; every key opens, so a
/// master key can be rotated by listing the old one as previous.
pub struct Vault {
    keys: Vec<MasterKey>,
}

/// Why a stored value could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("value was sealed with master key {0}, which is not configured (HOOKRELAY_MASTER_KEY / HOOKRELAY_PREVIOUS_MASTER_KEYS)")]
    UnknownKey(String),
    #[error("sealed value is corrupt or was moved from another row")]
    Corrupt,
}

impl Vault {
    /// A vault sealing with `current` and also opening with `previous`.
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]]) -> Vault {
        let mut keys = vec![MasterKey::new(current)];
        keys.extend(previous.iter().map(MasterKey::new));
        Vault { keys }
    }

    /// Id of the key new values are sealed with.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` for the place `context` names.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let key = &self.keys[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory input");
        let mut raw = Vec::with_capacity(NONCE_LEN + sealed.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", key.id, B64.encode(raw))
    }

    /// Opens a sealed value. Values stored before encryption existed (no
    /// prefix) are returned as they are; start-up seals them.
    pub fn open(&self, stored: &str, context: &str) -> Result<String, VaultError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, data) = rest.split_once(':').ok_or(VaultError::Corrupt)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_string()))?;
        let raw = B64.decode(data).map_err(|_| VaultError::Corrupt)?;
        if raw.len() < NONCE_LEN {
            return Err(VaultError::Corrupt);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| VaultError::Corrupt)
    }

    /// A secret derived from the current master key for `purpose` and
    /// `input` (base64url, 43 characters): the same inputs give the same
    /// value in every process sharing the key, so nothing need be stored.
    /// Used for the OAuth PKCE verifier of a `state`.
    pub fn derive(&self, purpose: &str, input: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.keys[0].derive).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(input.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// Whether `stored` is sealed under the current key (nothing to redo).
    pub fn is_current(&self, stored: &str) -> bool {
        sealed_key_id(stored) == Some(self.current_key_id())
    }

    /// Whether some configured key opens values sealed under `id`.
    pub fn knows(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }
}

// Associated-data labels. Every sealed value is bound to one of these
// strings: changing one makes the values already stored under it
// unopenable, so they are defined here once and pinned by a test.

/// Associated data of a webhook's signing secret (`webhook-secret:{id}`).
pub fn webhook_secret_label(webhook_id: &str) -> String {
    format!("webhook-secret:{webhook_id}")
}

/// Associated data of an integration's sealed `initial_data_form` value
/// (`integration-config:{id}:{key}`).
pub fn integration_config_label(integration_id: &str, key: &str) -> String {
    format!("integration-config:{integration_id}:{key}")
}

/// Associated data of an integration's sealed OAuth token
/// (`integration-oauth:{id}`).
pub fn integration_oauth_label(integration_id: &str) -> String {
    format!("integration-oauth:{integration_id}")
}

/// Associated data of a waiting run's checkpoint (`run-resume:{id}`).
pub fn run_resume_label(run_id: &str) -> String {
    format!("run-resume:{run_id}")
}

/// The key id a stored value names, if it is sealed.
pub fn sealed_key_id(stored: &str) -> Option<&str> {
    stored
        .strip_prefix(PREFIX)?
        .split_once(':')
        .map(|(id, _)| id)
}

/// Public id of a key: not secret, and says nothing about the key.
pub fn key_id(key: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(b"hookrelay master key id\0");
    h.update(key);
    hex::encode(&h.finalize()[..4])
}

/// A new master key, base64 (what `hookrelay keygen` prints).
pub fn generate_key() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

/// Parses a master key: 32 bytes as base64 (standard or url-safe) or hex.
pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
            .or_else(|_| B64.decode(text))
            .ok()
    };
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            "a master key is 32 bytes, written as base64 or 64 hex digits (`hookrelay keygen` prints one)".into()
        })
}

/// Where the master key comes from.
pub struct KeySettings<'a> {
    /// `HOOKRELAY_MASTER_KEY`.
    pub key: Option<&'a str>,
    /// `HOOKRELAY_MASTER_KEY_FILE`.
    pub key_file: Option<&'a Path>,
    /// `HOOKRELAY_PREVIOUS_MASTER_KEYS`, comma-separated.
    pub previous: &'a str,
    /// The SQLite database file, beside which a key file may be generated.
    pub sqlite_path: Option<&'a Path>,
}

/// The vault for this process, and a warning to log if a key was generated.
///
/// `sealed_ids` are the key ids found in the database: a key file is only
/// generated for a database holding nothing sealed, so a lost key is an error
/// at start-up, never a fresh key that silently cannot open old secrets.
pub fn load(
    settings: &KeySettings<'_>,
    sealed_ids: &[String],
) -> Result<(Vault, Option<String>), String> {
    let previous = settings
        .previous
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_key(s).map_err(|e| format!("HOOKRELAY_PREVIOUS_MASTER_KEYS: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut warning = None;
    let current = if let Some(k) = settings.key.filter(|k| !k.trim().is_empty()) {
        parse_key(k).map_err(|e| format!("HOOKRELAY_MASTER_KEY: {e}"))?
    } else {
        let path = match (settings.key_file, settings.sqlite_path) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(db)) => default_key_file(db),
            (None, None) => return Err(
                "set HOOKRELAY_MASTER_KEY (or HOOKRELAY_MASTER_KEY_FILE): with PostgreSQL every hookrelay process must share one master key, so none is generated. `hookrelay keygen` prints a new one".into(),
            ),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => parse_key(&text).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && settings.key_file.is_none() => {
                if let Some(id) = sealed_ids.first() {
                    return Err(format!(
                        "the database holds secrets sealed with master key {id}, but {} is missing: restore it or set HOOKRELAY_MASTER_KEY",
                        path.display()
                    ));
                }
                let key = create_key_file(&path)?;
                warning = Some(format!(
                    "generated a master key in {} (no HOOKRELAY_MASTER_KEY set). Back it up with the database: without it, stored secrets (webhook signing secrets, integration settings and tokens) cannot be read",
                    path.display()
                ));
                key
            }
            Err(e) => {
                return Err(format!(
                    "cannot read master key file {}: {e}",
                    path.display()
                ))
            }
        }
    };
    let vault = Vault::new(&current, &previous);
    if let Some(missing) = sealed_ids.iter().find(|id| !vault.knows(id)) {
        return Err(format!(
            "the database holds secrets sealed with master key {missing}, but the configured key is {}: set HOOKRELAY_MASTER_KEY to the key in use, or list it in HOOKRELAY_PREVIOUS_MASTER_KEYS to re-seal under the new one",
            vault.current_key_id()
        ));
    }
    Ok((vault, warning))
}

/// `hookrelay.db` → `hookrelay.db.key`.
pub fn default_key_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".key");
    PathBuf::from(name)
}

/// Writes a fresh key readable by its owner only; fails rather than replace.
fn create_key_file(path: &Path) -> Result<[u8; 32], String> {
    let text = generate_key();
    write_key_file(path, format!("{text}\n").as_bytes())?;
    parse_key(&text)
}

/// Writes a master key file (`contents`) readable by its owner only
/// (mode 0600), synced to disk; fails rather than replace an existing file.
/// `hookrelay backup` copies the key with it.
pub fn write_key_file(path: &Path, contents: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create master key file {}: {e}", path.display()))?;
    f.write_all(contents)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write master key file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_binds_context() {
        let vault = Vault::new(&[7; 32], &[]);
        let sealed = vault.seal("whsec_abc", "webhook-secret:wh_1");
        assert!(sealed.starts_with("sealed:v1:"));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(
            vault.open(&sealed, "webhook-secret:wh_1").unwrap(),
            "whsec_abc"
        );
        assert!(matches!(
            vault.open(&sealed, "webhook-secret:wh_2"),
            Err(VaultError::Corrupt)
        ));
        // Two seals of one value differ (fresh nonce).
        assert_ne!(sealed, vault.seal("whsec_abc", "webhook-secret:wh_1"));
    }

    #[test]
    fn previous_keys_open_and_unknown_keys_are_named() {
        let old = Vault::new(&[1; 32], &[]);
        let sealed = old.seal("s", "c");
        let rotated = Vault::new(&[2; 32], &[[1; 32]]);
        assert_eq!(rotated.open(&sealed, "c").unwrap(), "s");
        assert!(!rotated.is_current(&sealed));
        let other = Vault::new(&[3; 32], &[]);
        match other.open(&sealed, "c") {
            Err(VaultError::UnknownKey(id)) => assert_eq!(id, key_id(&[1; 32])),
            r => panic!("expected UnknownKey, got {r:?}"),
        }
    }

    /// Stored secrets open only under the exact label they were sealed with.
    #[test]
    fn labels_are_pinned() {
        assert_eq!(webhook_secret_label("wh_1"), "webhook-secret:wh_1");
        assert_eq!(
            integration_config_label("int_1", "API_KEY"),
            "integration-config:int_1:API_KEY"
        );
        assert_eq!(integration_oauth_label("int_1"), "integration-oauth:int_1");
        assert_eq!(run_resume_label("run_1"), "run-resume:run_1");
    }

    #[test]
    fn parses_base64_and_hex_keys() {
        let k = generate_key();
        assert!(parse_key(&k).is_ok());
        assert_eq!(parse_key(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert!(parse_key("short").is_err());
    }
}
