use super::*;

fn src(s: &str) -> TokenSource {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn parses_every_source_kind() {
    assert_eq!(src("authorization"), TokenSource::Authorization);
    assert_eq!(
        src("header:X-Access-Token"),
        TokenSource::Header(http::HeaderName::from_static("x-access-token"))
    );
    assert_eq!(src("cookie:session"), TokenSource::Cookie("session".into()));
    assert_eq!(
        src("query:access_token"),
        TokenSource::Query("access_token".into())
    );
    assert_eq!(src("header:X-Token").to_string(), "header:x-token");
    assert_eq!(src("cookie:sid").to_string(), "cookie:sid");
}

#[test]
fn rejects_unknown_or_empty_sources() {
    for bad in [
        "",
        "Authorization",
        "bearer",
        "header:",
        "cookie:",
        "query:",
        "body:token",
        "header:bad name",
        "cookie:a=b",
        "cookie:a;b",
        "query:a&b",
        "query:a b",
    ] {
        let err = bad.parse::<TokenSource>().expect_err(bad);
        assert_eq!(err.source_text, bad);
        assert!(!err.reason.is_empty());
    }
}

fn headers(pairs: &[(&str, &[u8])]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    map
}

/// The full answer: `Ok(token or None)`, or `Err(conflict)`.
fn check(
    sources: &[&str],
    pairs: &[(&str, &[u8])],
    query: Option<&str>,
) -> Result<Option<String>, Conflict> {
    let sources: Vec<TokenSource> = sources.iter().map(|s| src(s)).collect();
    match extract_checked(&sources, &headers(pairs), query) {
        Extracted::None => Ok(None),
        Extracted::One(t) => Ok(Some(t.into_owned())),
        Extracted::Conflict(c) => Err(c),
    }
}

fn get(sources: &[&str], pairs: &[(&str, &[u8])], query: Option<&str>) -> Option<String> {
    check(sources, pairs, query).unwrap_or_else(|c| panic!("unexpected conflict: {c}"))
}

fn bearer(value: &str) -> Option<String> {
    get(
        &["authorization"],
        &[("authorization", value.as_bytes())],
        None,
    )
}

#[test]
fn bearer_scheme_is_case_insensitive_and_rest_trimmed() {
    assert_eq!(
        bearer("Bearer abc.def-_~+/=="),
        Some("abc.def-_~+/==".into())
    );
    assert_eq!(bearer("bearer abc"), Some("abc".into()));
    assert_eq!(bearer("BEARER   abc  "), Some("abc".into()));
    assert_eq!(bearer("Bearer\tabc"), Some("abc".into()));
}

#[test]
fn other_schemes_and_empty_bearer_give_no_token() {
    for none in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer   ",
        "Bearerabc",
        "abc",
        "",
        // Another scheme's parameters may hold commas; only a hidden Bearer is a conflict.
        "Digest username=\"u\", realm=\"r\"",
    ] {
        assert_eq!(bearer(none), None, "{none:?}");
    }
}

#[test]
fn bearer_credentials_outside_b64token_are_malformed() {
    for bad in ["Bearer a b", "Bearer =abc", "Bearer ==", "Bearer a=b"] {
        let pairs: &[(&str, &[u8])] = &[("authorization", bad.as_bytes())];
        assert_eq!(
            check(&["authorization"], pairs, None),
            Err(Conflict::Malformed),
            "{bad:?}"
        );
    }
}

// Before: such a value counted as no token, and the request was forwarded as anonymous, so
// an upstream that reads `Bearer REVOKED junk` leniently accepted an unchecked token.
#[test]
fn invalid_characters_are_a_malformed_credential() {
    for bad in [
        "Bearer a\"b",
        "Bearer a%20b",
        "Bearer é",
        "Bearer a;b",
        "Bearer a b",
    ] {
        let pairs: &[(&str, &[u8])] = &[("authorization", bad.as_bytes())];
        assert_eq!(
            check(&["authorization"], pairs, None),
            Err(Conflict::Malformed),
            "{bad:?}"
        );
    }
    let non_utf8: &[(&str, &[u8])] = &[("authorization", b"Bearer ab\xffcd")];
    assert_eq!(
        check(&["authorization"], non_utf8, None),
        Err(Conflict::Malformed)
    );
    let cookie: &[(&str, &[u8])] = &[("cookie", b"sid=a%2Eb")];
    assert_eq!(
        check(&["cookie:sid"], cookie, None),
        Err(Conflict::Malformed)
    );
    assert_eq!(
        check(&["query:t"], &[], Some("t=a%20b")),
        Err(Conflict::Malformed)
    );
}

#[test]
fn empty_values_are_no_token() {
    let pairs: &[(&str, &[u8])] = &[("authorization", b"Bearer  "), ("cookie", b"sid=")];
    assert_eq!(
        check(&["authorization", "cookie:sid"], pairs, None),
        Ok(None)
    );
    assert_eq!(check(&["query:t"], &[], Some("t=&u=1")), Ok(None));
}

// Before: the first Bearer header won and the others were ignored (and forwarded).
#[test]
fn any_second_authorization_header_is_a_conflict() {
    for second in [&b"Bearer other"[..], b"Bearer same", b"Basic eA==", b""] {
        let pairs: &[(&str, &[u8])] =
            &[("authorization", b"Bearer same"), ("authorization", second)];
        assert_eq!(
            check(&["authorization"], pairs, None),
            Err(Conflict::AuthorizationRepeated),
            "{second:?}"
        );
    }
    // Whatever the sources: the upstream may read Authorization anyway.
    let pairs: &[(&str, &[u8])] = &[
        ("authorization", b"Basic eA=="),
        ("authorization", b"Bearer b"),
    ];
    assert_eq!(
        check(&["cookie:sid"], pairs, None),
        Err(Conflict::AuthorizationRepeated)
    );
}

// Before: a comma made the value "no token", and the request was forwarded as anonymous.
#[test]
fn a_list_of_credentials_in_authorization_is_a_conflict() {
    for list in [
        "Bearer a,b",
        "Bearer a, Bearer b",
        "bearer a ,b",
        "Bearer , Bearer b",
        "Basic eA==, Bearer b",
        "Basic eA==,bearer\tb",
    ] {
        let pairs: &[(&str, &[u8])] = &[("authorization", list.as_bytes())];
        assert_eq!(
            check(&["authorization"], pairs, None),
            Err(Conflict::AuthorizationList),
            "{list:?}"
        );
    }
}

#[test]
fn token_longer_than_16_kib_is_invalid() {
    let ok = "a".repeat(MAX_TOKEN_LEN);
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(
        bearer(&format!("Bearer {ok}")).map(|t| t.len()),
        Some(MAX_TOKEN_LEN)
    );
    let pairs: &[(&str, &[u8])] = &[(
        "authorization",
        format!("Bearer {huge}").into_bytes().leak(),
    )];
    assert_eq!(
        check(&["authorization"], pairs, None),
        Err(Conflict::Malformed)
    );
    assert_eq!(
        check(&["query:t"], &[], Some(&format!("t={huge}"))),
        Err(Conflict::Malformed)
    );
    // Length does not hide a second copy: the repeat is found before the length check.
    assert_eq!(
        check(&["query:t"], &[], Some(&format!("t={huge}&t=b"))),
        Err(Conflict::QueryRepeated)
    );
}

#[test]
fn header_source_takes_trimmed_value() {
    let pairs: &[(&str, &[u8])] = &[("x-token", b"  tok123  ")];
    assert_eq!(get(&["header:X-Token"], pairs, None), Some("tok123".into()));
    assert_eq!(get(&["header:x-other"], pairs, None), None);
    let empty: &[(&str, &[u8])] = &[("x-token", b"   ")];
    assert_eq!(get(&["header:x-token"], empty, None), None);
}

#[test]
fn repeated_token_header_conflicts_only_with_another_value() {
    let same: &[(&str, &[u8])] = &[("x-token", b"tok"), ("X-Token", b" tok ")];
    assert_eq!(get(&["header:x-token"], same, None), Some("tok".into()));
    for other in [&b"tik"[..], b"", b"tok2"] {
        let pairs: &[(&str, &[u8])] = &[("x-token", b"tok"), ("x-token", other)];
        assert_eq!(
            check(&["header:x-token"], pairs, None),
            Err(Conflict::HeaderRepeated)
        );
    }
    let underscore: &[(&str, &[u8])] = &[("x-token", b"tok"), ("x_token", b"other")];
    assert_eq!(
        check(&["header:x-token"], underscore, None),
        Err(Conflict::HeaderRepeated)
    );
    let only_underscore: &[(&str, &[u8])] = &[("x_token", b"tok")];
    assert_eq!(
        get(&["header:x-token"], only_underscore, None),
        Some("tok".into())
    );
    let joined: &[(&str, &[u8])] = &[("x-token", b"a, b")];
    assert_eq!(
        check(&["header:x-token"], joined, None),
        Err(Conflict::ValueList)
    );
}

#[test]
fn cookie_found_across_cookie_headers() {
    let pairs: &[(&str, &[u8])] = &[
        ("cookie", b"a=1; other=x"),
        ("cookie", b"theme=dark;sid=first ; sid=first"),
        ("cookie", b"sid=\"first\""),
    ];
    assert_eq!(get(&["cookie:sid"], pairs, None), Some("first".into()));
    assert_eq!(get(&["cookie:other"], pairs, None), Some("x".into()));
    assert_eq!(get(&["cookie:si"], pairs, None), None);
    let quoted: &[(&str, &[u8])] = &[("cookie", b"sid=\"q.v\"")];
    assert_eq!(get(&["cookie:sid"], quoted, None), Some("q.v".into()));
}

// Before: the first cookie of the name won (`sid=first`), the others were forwarded.
#[test]
fn cookie_repeated_with_another_value_is_a_conflict() {
    for pairs in [
        &[("cookie", &b"sid=first ; sid=second"[..])][..],
        &[("cookie", b"sid=first"), ("cookie", b"a=1; sid=second")],
        &[("cookie", b"sid=; sid=second")],
        &[("cookie", b"sid=first, sid=second")],
    ] {
        assert_eq!(
            check(&["cookie:sid"], pairs, None),
            Err(Conflict::CookieRepeated),
            "{pairs:?}"
        );
    }
    // A comma also separates cookies for old parsers: `sid` behind one is still found.
    let hidden: &[(&str, &[u8])] = &[("cookie", b"other=x, sid=tok")];
    assert_eq!(get(&["cookie:sid"], hidden, None), Some("tok".into()));
}

#[test]
fn non_utf8_cookie_bytes_are_skipped_safely() {
    let pairs: &[(&str, &[u8])] = &[("cookie", b"junk=\xff\xfe; sid=good; x=\x80")];
    assert_eq!(get(&["cookie:sid"], pairs, None), Some("good".into()));
    let bad: &[(&str, &[u8])] = &[("cookie", b"sid=ab\xffcd")];
    assert_eq!(check(&["cookie:sid"], bad, None), Err(Conflict::Malformed));
}

fn query(q: &str) -> Result<Option<(bool, String)>, Conflict> {
    let sources = [src("query:access_token")];
    match extract_checked(&sources, &http::HeaderMap::new(), Some(q)) {
        Extracted::None => Ok(None),
        Extracted::One(t) => Ok(Some((matches!(t, Cow::Owned(_)), t.into_owned()))),
        Extracted::Conflict(c) => Err(c),
    }
}

#[test]
fn query_parameter_is_percent_decoded() {
    assert_eq!(
        query("x=1&access_token=abc"),
        Ok(Some((false, "abc".into())))
    );
    assert_eq!(
        query("access_token=ab%2Bc%2F%3D"),
        Ok(Some((true, "ab+c/=".into())))
    );
    assert_eq!(query("access_token=a%20b"), Err(Conflict::Malformed));
    assert_eq!(query("access_token=%ff"), Err(Conflict::Malformed));
    assert_eq!(query("access_token="), Ok(None));
    assert_eq!(query("access_token"), Ok(None));
    assert_eq!(query("xaccess_token=abc"), Ok(None));
    assert_eq!(query("access_token=a%2Cb"), Err(Conflict::ValueList));
}

// Before: the first parameter won; `access%5Ftoken` was not the same name at all.
#[test]
fn query_parameter_repeated_with_another_decoded_value_is_a_conflict() {
    assert_eq!(
        query("access_token=a&x=1&access_token=%61"),
        Ok(Some((false, "a".into()))),
        "same decoded value"
    );
    assert_eq!(
        query("access_token=abc&access_token=def"),
        Err(Conflict::QueryRepeated)
    );
    assert_eq!(
        query("access_token&access_token=def"),
        Err(Conflict::QueryRepeated)
    );
    assert_eq!(
        query("access_token=abc&access%5Ftoken=def"),
        Err(Conflict::QueryRepeated)
    );
    assert_eq!(
        query("access%5ftoken=abc"),
        Ok(Some((false, "abc".into()))),
        "an encoded name is the same parameter"
    );
}

#[test]
fn sources_tried_in_order_and_a_malformed_value_refused() {
    let pairs: &[(&str, &[u8])] = &[("authorization", b"Bearer same"), ("cookie", b"sid=same")];
    assert_eq!(
        get(&["cookie:sid", "authorization"], pairs, None),
        Some("same".into())
    );
    let bad_auth: &[(&str, &[u8])] = &[
        ("authorization", b"Bearer a b"),
        ("cookie", b"sid=from-cookie"),
    ];
    // Before: the malformed Authorization value was skipped and the cookie's token used,
    // while the upstream also saw `Bearer a b`.
    assert_eq!(
        check(&["authorization", "cookie:sid"], bad_auth, None),
        Err(Conflict::Malformed)
    );
    assert_eq!(
        get(&["authorization", "query:t"], &[], Some("t=q")),
        Some("q".into())
    );
    assert_eq!(get(&["authorization", "query:t"], &[], None), None);
    assert_eq!(get(&[], pairs, None), None);
}

// Before: the first source with a token won.
#[test]
fn two_sources_with_different_tokens_are_a_conflict() {
    let pairs: &[(&str, &[u8])] = &[
        ("authorization", b"Bearer from-auth"),
        ("cookie", b"sid=from-cookie"),
    ];
    assert_eq!(
        check(&["authorization", "cookie:sid"], pairs, None),
        Err(Conflict::SourcesDisagree)
    );
    assert_eq!(
        check(&["authorization", "query:t"], pairs, Some("t=from-query")),
        Err(Conflict::SourcesDisagree)
    );
    // A source that is not configured is not read.
    assert_eq!(
        get(&["authorization"], pairs, None),
        Some("from-auth".into())
    );
}

#[test]
fn extract_gives_no_token_for_a_conflict() {
    let pairs = headers(&[("authorization", b"Bearer a,b")]);
    assert_eq!(extract(&[TokenSource::Authorization], &pairs, None), None);
}

#[test]
fn b64token_bytes_are_exactly_rfc_6750s() {
    for b in 0..=u8::MAX {
        let rfc = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        assert_eq!(is_b64token_byte(b), rfc, "byte {b:#04x}");
    }
}

#[test]
fn one_bad_byte_anywhere_in_a_long_token_refuses_it() {
    let good = "a".repeat(700);
    assert_eq!(as_token(good.as_bytes()), Some(good.as_str()));
    for at in [0, 63, 64, 65, 127, 128, 699] {
        let mut bad = good.clone().into_bytes();
        bad[at] = b'%';
        assert_eq!(as_token(&bad), None, "a bad byte at {at}");
    }
}
