//! What idlegate reads from a JWT's claims: subject, groups and `exp` (docs/reference.md,
//! "Identity"). STUB: filled in with the verifier.

/// The claims idlegate keeps of a token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// The subject claim (at most 256 bytes); None when absent.
    pub subject: Option<String>,
    /// The groups claim: an array of strings or one space-separated string; at most 256.
    pub groups: Vec<String>,
    /// `exp`, Unix seconds.
    pub exp_s: Option<u64>,
}
