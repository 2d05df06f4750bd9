//! Token keys: a 128-bit keyed BLAKE3 hash of the token's signing input.

use std::fmt;

use super::jwt::signing_input;

/// The 128-bit key of a token. Its lowercase hex form is the token id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TokenKey(pub [u8; 16]);

impl TokenKey {
    /// 32 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex_lower(&self.0)
    }

    /// Parses 32 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<TokenKey> {
        let mut key = [0u8; 16];
        decode_hex(s, &mut key)?;
        Some(TokenKey(key))
    }
}

impl fmt::Display for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKey({})", self.to_hex())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("hash key file {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("hash key file {path} is malformed: expected 64 hex digits")]
    Malformed { path: std::path::PathBuf },
}

/// Keys tokens with a secret hash key.
#[derive(Clone)]
pub struct Keyer {
    key: [u8; 32],
}

// The hash key is a secret: never print it.
impl fmt::Debug for Keyer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyer(..)")
    }
}

/// BLAKE3 KDF context: fixed, so every replica derives the same key from the same secret.
const KDF_CONTEXT: &str = "idlegate 2026 token key";

impl Keyer {
    /// Derives the hash key from a secret (the env variable's value) with a KDF.
    pub fn from_secret(secret: &[u8]) -> Keyer {
        Keyer::from_key_bytes(blake3::derive_key(KDF_CONTEXT, secret))
    }

    /// Uses 32 raw key bytes as they are (the key file's content).
    pub fn from_key_bytes(key: [u8; 32]) -> Keyer {
        Keyer { key }
    }

    /// A 64-bit keyed hash of the whole token, never 0: two requests with the same token id
    /// (the same signing input) and the same value carry the same bytes, so it tells apart
    /// tokens that differ only after the signing input (a JWS's signature). Keyed with the
    /// token key, so it says nothing outside this gateway.
    pub fn signature_hash(&self, token: &str) -> u64 {
        self.key_and_signature_hash(token).1
    }

    /// The token's key and its [`Keyer::signature_hash`] in one pass over the token: the
    /// hash of the signing input is finished once for the key, then fed the rest. (Two
    /// separate hashes cost 0.1 µs more per request of a 700-byte JWT: `cargo bench --bench
    /// hot_path`, identity on.)
    pub fn key_and_signature_hash(&self, token: &str) -> (TokenKey, u64) {
        let input = signing_input(token);
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(input.as_bytes());
        let key = first_16(hasher.finalize().as_bytes());
        hasher.update(&token.as_bytes()[input.len()..]);
        let mut b = [0u8; 8];
        b.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
        (TokenKey(key), u64::from_le_bytes(b).max(1))
    }

    /// The first 128 bits of the keyed BLAKE3 hash of the token's signing input.
    pub fn key(&self, token: &str) -> TokenKey {
        let hash = blake3::keyed_hash(&self.key, signing_input(token).as_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(&hash.as_bytes()[..16]);
        TokenKey(out)
    }
}

fn first_16(bytes: &[u8; 32]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&bytes[..16]);
    out
}

/// Lowercase hex of any byte string.
pub(super) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Decodes exactly `2 * out.len()` hex digits (either case) into `out`.
pub(super) fn decode_hex(s: &str, out: &mut [u8]) -> Option<()> {
    let bytes = s.as_bytes();
    if bytes.len() != out.len() * 2 {
        return None;
    }
    for (dst, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *dst = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn keyer() -> Keyer {
        Keyer::from_secret(b"test secret")
    }

    #[test]
    fn hex_round_trip() {
        let key = TokenKey([
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 1, 2, 3, 0xfe, 0xdc, 0xba, 0x98,
        ]);
        let hex = key.to_hex();
        assert_eq!(hex, "0123456789abcdef00010203fedcba98");
        assert_eq!(TokenKey::from_hex(&hex), Some(key));
        assert_eq!(TokenKey::from_hex(&hex.to_uppercase()), Some(key));
        assert_eq!(key.to_string(), hex);
        assert_eq!(format!("{key:?}"), format!("TokenKey({hex})"));
    }

    #[test]
    fn from_hex_rejects_bad_input() {
        assert_eq!(TokenKey::from_hex(""), None);
        assert_eq!(TokenKey::from_hex(&"0".repeat(31)), None);
        assert_eq!(TokenKey::from_hex(&"0".repeat(33)), None);
        assert_eq!(TokenKey::from_hex(&"g".repeat(32)), None);
        assert_eq!(TokenKey::from_hex(&format!("{}é", "0".repeat(30))), None);
    }

    #[test]
    fn jws_keyed_on_signing_input_so_resigned_tokens_share_a_key() {
        let (h, p) = (b64(r#"{"alg":"ES256"}"#), b64(r#"{"sub":"a"}"#));
        let k = keyer();
        assert_eq!(
            k.key(&format!("{h}.{p}.sigone")),
            k.key(&format!("{h}.{p}.sigtwo"))
        );
        assert_eq!(
            k.key(&format!("{h}.{p}.sigone")),
            k.key(&format!("{h}.{p}"))
        );
    }

    #[test]
    fn signature_hash_tells_resigned_tokens_apart() {
        let (h, p) = (b64(r#"{"alg":"ES256"}"#), b64(r#"{"sub":"a"}"#));
        let k = keyer();
        let one = k.signature_hash(&format!("{h}.{p}.sigone"));
        assert_eq!(one, k.signature_hash(&format!("{h}.{p}.sigone")));
        assert_ne!(one, k.signature_hash(&format!("{h}.{p}.sigtwo")));
        assert_ne!(one, 0);
        assert_ne!(
            one,
            Keyer::from_secret(b"other").signature_hash(&format!("{h}.{p}.sigone"))
        );
    }

    #[test]
    fn different_payload_gives_different_key() {
        let h = b64(r#"{"alg":"ES256"}"#);
        let k = keyer();
        assert_ne!(
            k.key(&format!("{h}.{}.sig", b64(r#"{"sub":"a"}"#))),
            k.key(&format!("{h}.{}.sig", b64(r#"{"sub":"b"}"#)))
        );
    }

    #[test]
    fn different_secrets_give_different_keys() {
        let a = Keyer::from_secret(b"one").key("opaque-token");
        let b = Keyer::from_secret(b"two").key("opaque-token");
        assert_ne!(a, b);
        assert_eq!(a, Keyer::from_secret(b"one").key("opaque-token"));
        assert_ne!(
            Keyer::from_key_bytes([7; 32]).key("t"),
            Keyer::from_key_bytes([8; 32]).key("t")
        );
    }

    #[test]
    fn five_part_jwe_is_keyed_whole() {
        let k = keyer();
        assert_ne!(k.key("a.b.c.d.e"), k.key("a.b.c.d.f"));
        assert_ne!(k.key("a.b.c.d.e"), k.key("a.b"));
    }

    #[test]
    fn empty_segment_token_is_not_a_jws() {
        let k = keyer();
        assert_ne!(k.key("a..c"), k.key("a..d"));
    }

    #[test]
    fn keyer_debug_hides_the_key() {
        assert_eq!(
            format!("{:?}", Keyer::from_key_bytes([0xab; 32])),
            "Keyer(..)"
        );
    }
}
