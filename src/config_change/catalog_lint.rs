//! Custom patterns checked against the API catalog: a pattern that matches no operation is
//! most likely a typo, which would otherwise keep resetting the timer without a word. Part of
//! what `idlegate check`, a reload and a Save report (warnings only: never an error).

use crate::catalog::Catalog;
use crate::classify::Pattern;
use crate::config::{self, Config, Diagnostic};

/// Warnings for custom patterns that match no operation of the configured catalog (and for a
/// catalog that cannot be loaded). `text` is the config file's text, for the positions (empty:
/// each warning points at 1:1).
pub(crate) fn warnings(config: &Config, text: &str) -> Vec<Diagnostic> {
    let Some(catalog_path) = &config.catalog.openapi else {
        return Vec::new();
    };
    let file = config.path.clone().unwrap_or_default();
    let warning = |needle: Option<&str>, key: String, message: String| {
        let (line, column) = needle.and_then(|n| position(text, n)).unwrap_or((1, 1));
        Diagnostic {
            file: file.clone(),
            line,
            column,
            key,
            message,
            severity: config::Severity::Warning,
        }
    };
    let catalog = match Catalog::load(catalog_path) {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("{e}; custom patterns are not checked against it");
            return vec![warning(None, "catalog.openapi".into(), msg)];
        }
    };
    let mut out = Vec::new();
    for (i, pattern) in config.exclusions.custom.iter().enumerate() {
        if !matches_catalog(pattern, &catalog) {
            let text = pattern.text();
            let msg = format!(
                "pattern {text:?} matches no operation of the catalog {} (a typo?)",
                catalog_path.display()
            );
            let quoted = format!("{text:?}");
            out.push(warning(
                Some(&quoted),
                format!("exclusions.custom[{i}]"),
                msg,
            ));
        }
    }
    out
}

/// Whether some catalog operation falls under the pattern: the pattern matches the
/// operation's template as a path (`{param}` matches `{userId}`), or the operation's template
/// matches the pattern's path with each placeholder filled in (a literal `me` under a
/// catalog `{userId}`).
pub(crate) fn matches_catalog(pattern: &Pattern, catalog: &Catalog) -> bool {
    use http::Method;
    let query = pattern.text().split_once('?').map(|(_, q)| q);
    let as_template = catalog.operations().iter().any(|op| {
        Method::from_bytes(op.method.as_bytes()).is_ok_and(|m| pattern.matches(&m, &op.path, query))
    });
    let concrete: String = pattern
        .path()
        .split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    let methods = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    as_template
        || methods.iter().any(|m| {
            pattern.method().matches(m) && catalog.match_path(m.as_str(), &concrete).is_some()
        })
}

/// 1-based line and column of the first occurrence of `needle`.
fn position(text: &str, needle: &str) -> Option<(usize, usize)> {
    let at = text.find(needle)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Operation;
    use crate::config;

    fn catalog() -> Catalog {
        let op = |m: &str, p: &str| Operation {
            method: m.into(),
            path: p.into(),
            summary: String::new(),
        };
        Catalog::from_operations(vec![
            op("GET", "/api/v2/users/{userId}"),
            op("GET", "/api/v2/users/{userId}/presences/purecloud"),
            op("POST", "/a/b"),
        ])
    }

    fn matches(text: &str) -> bool {
        matches_catalog(&Pattern::parse(text).unwrap(), &catalog())
    }

    #[test]
    fn pattern_matching_a_catalog_template_is_not_warned_about() {
        assert!(matches("GET /api/v2/users/{id}"));
        assert!(matches("GET /api/v2/users/me"));
        assert!(matches("GET /api/v2/users/{id}?a=b"));
        assert!(matches("* /a/{*rest}"));
    }

    #[test]
    fn typo_or_wrong_method_matches_nothing() {
        assert!(!matches("GET /api/v2/user/{id}"));
        assert!(!matches("POST /api/v2/users/{id}"));
        assert!(!matches("GET /api/v2/users/{id}/presences"));
    }

    #[test]
    fn check_warns_with_the_pattern_position() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cat.json"),
            r#"[{"method":"GET","path":"/x","summary":""}]"#,
        )
        .unwrap();
        let path = dir.path().join("c.toml");
        let text =
            "[proxy]\nupstream = \"http://127.0.0.1:9\"\n[catalog]\nopenapi = \"cat.json\"\n\
                    [exclusions]\ncustom = [\"GET /x\", \"GET /y\"]\n";
        std::fs::write(&path, text).unwrap();
        let loaded = config::load(&path).unwrap();
        let warnings = warnings(&loaded.config, text);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].key, "exclusions.custom[1]");
        assert_eq!((warnings[0].line, warnings[0].column), (6, 21));
    }
}
