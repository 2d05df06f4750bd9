//! The admin listener's OpenAPI document as a test oracle: checks a live answer against the
//! operation that documents it (status listed, media type, body valid against its JSON
//! Schema) and records which (method, path, status) were exercised.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::common::Reply;

/// One documented answer: lowercase method, path template, status.
pub type Answer = (String, String, String);

pub struct Spec {
    pub doc: Value,
    seen: Mutex<BTreeSet<Answer>>,
}

/// The media type without its parameters, lowercase.
fn essence(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

impl Spec {
    pub fn new(doc: Value) -> Spec {
        assert_eq!(doc["openapi"], "3.1.0");
        Spec {
            doc,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// Every (method, path, status) the document lists.
    pub fn documented(&self) -> BTreeSet<Answer> {
        let mut all = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                for status in op["responses"].as_object().expect("responses").keys() {
                    all.insert((method.clone(), path.clone(), status.clone()));
                }
            }
        }
        all
    }

    pub fn exercised(&self) -> BTreeSet<Answer> {
        self.seen.lock().unwrap().clone()
    }

    /// The operation `method path` (lowercase method, path template).
    pub fn operation(&self, method: &str, path: &str) -> &Value {
        let op = &self.doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the document");
        op
    }

    /// Errors of `instance` against `schema`, an object of the document: validated with the
    /// document's `components` beside it, so `#/components/schemas/…` references resolve.
    pub fn errors(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let mut root = schema.clone();
        let object = root.as_object_mut().expect("a schema is an object");
        object.insert("components".into(), self.doc["components"].clone());
        let validator = jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("schema does not compile: {e}\n{schema}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    /// The schema of a component, as a `$ref` object.
    pub fn component(&self, name: &str) -> Value {
        let schema = &self.doc["components"]["schemas"][name];
        assert!(schema.is_object(), "no component schema {name}");
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// Checks `reply` as the answer of `method path` and records it; returns the JSON body
    /// (null when the body is not JSON).
    pub fn check(&self, method: &str, path: &str, reply: &Reply) -> Value {
        let op = self.operation(method, path);
        let status = reply.status.as_u16().to_string();
        let documented = &op["responses"][&status];
        assert!(
            documented.is_object(),
            "{method} {path} answered {status}, which the document does not list: {}",
            reply.body
        );
        let body = self.check_content(method, path, &status, documented, reply);
        let answer = (method.to_string(), path.to_string(), status);
        self.seen.lock().unwrap().insert(answer);
        body
    }

    fn check_content(
        &self,
        method: &str,
        path: &str,
        status: &str,
        documented: &Value,
        reply: &Reply,
    ) -> Value {
        let what = format!("{method} {path} {status}");
        let Some(content) = documented.get("content").and_then(Value::as_object) else {
            assert!(reply.body.is_empty(), "{what}: no body documented");
            return Value::Null;
        };
        assert_eq!(content.len(), 1, "{what}: one media type per answer");
        let (media, entry) = content.iter().next().unwrap();
        let got = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(essence(got), essence(media), "{what}: content-type");
        if essence(media) != "application/json" {
            assert!(!reply.body.is_empty(), "{what}: empty text body");
            return Value::Null;
        }
        let body: Value = serde_json::from_str(&reply.body)
            .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {}", reply.body));
        let errors = self.errors(&entry["schema"], &body);
        assert!(
            errors.is_empty(),
            "{what}: body does not match its schema:\n{}\nbody: {body}",
            errors.join("\n")
        );
        body
    }
}
