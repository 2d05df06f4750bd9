//! Tokens: where they are found in a request (docs/reference.md, "Token extraction"), how they
//! are keyed (step 2, §10 compact JWS and hash key), and the unverified JWT `exp` read.
//!
//! # Layout
//!
//! - `extract`: finding a token in a request ([`TokenSource`], [`extract`]).
//! - `jwt`: a compact JWS's signing input and its unverified `exp`.
//! - `key`: [`Keyer`] and [`TokenKey`] (keyed BLAKE3 of the signing input), hex helpers.
//! - `keyfile`: where the hash key comes from ([`load_or_create_keyer`]); above `key`.

mod claims;
mod extract;
mod jwt;
mod key;
mod keyfile;

pub use claims::{
    decode_json_segment, decode_unverified, jws_segments, numeric_date, read_claims, Claims,
    ClaimsError, MAX_GROUPS, MAX_SUBJECT_BYTES,
};
pub use extract::{
    extract, extract_checked, Conflict, Extracted, SourceError, TokenSource, MAX_TOKEN_LEN,
};
pub use jwt::{jwt_exp, signing_input};
pub use key::{KeyError, Keyer, TokenKey};
pub use keyfile::load_or_create_keyer;
