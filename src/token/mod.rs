//! Tokens: where they are found in a request (SPEC §2 step 1, §10 token extraction), how they
//! are keyed (step 2, §10 compact JWS and hash key), and the unverified JWT `exp` read.

mod extract;
mod jwt;
mod key;
mod keyfile;

pub use extract::{
    extract, extract_checked, Conflict, Extracted, SourceError, TokenSource, MAX_TOKEN_LEN,
};
pub use jwt::{jwt_exp, signing_input};
pub use key::{KeyError, Keyer, TokenKey};
pub use keyfile::load_or_create_keyer;
