//! The failure table of docs/replicas.md names the tests that pin each row: every name must
//! be a test in the file it is listed under, so a renamed or deleted test fails here.

use std::path::Path;

/// `(file, test)` pairs of the table's last column: `` `file.rs`: `a`, `b`; `other.rs`: `c` ``.
fn pins(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let table = doc
        .split("## Failures and what they cost")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the failure table");
    for row in table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---"))
    {
        let last = row.trim_end_matches('|').rsplit('|').next().unwrap_or("");
        let mut file = None;
        for (i, part) in last.split('`').enumerate() {
            if i % 2 == 0 {
                continue; // outside backticks
            }
            if part.ends_with(".rs") {
                file = Some(part.to_string());
            } else if let Some(f) = &file {
                out.push((f.clone(), part.to_string()));
            }
        }
    }
    out
}

#[test]
fn every_test_the_failure_table_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/replicas.md")).unwrap();
    let pins = pins(&doc);
    assert!(pins.len() >= 8, "the table names its tests: {pins:?}");
    for (file, test) in pins {
        let source = std::fs::read_to_string(root.join("tests").join(&file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            source.contains(&format!("async fn {test}()"))
                || source.contains(&format!("fn {test}()")),
            "docs/replicas.md names {test} in tests/{file}, which has no such test"
        );
    }
}

#[test]
fn the_pins_are_read_from_the_last_column_by_file() {
    let doc = "## Failures and what they cost\n\n| Failure | x | y | Pinned by |\n| --- |\n\
               | Down | a | b | `redis.rs`: `no_such_test` |\n";
    assert_eq!(
        pins(doc),
        [("redis.rs".to_string(), "no_such_test".to_string())]
    );
}
