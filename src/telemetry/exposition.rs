//! The `/metrics` text: prometheus-client writes OpenMetrics, the endpoint serves the
//! Prometheus text exposition format 0.0.4 (docs/reference.md, "Metrics").

use super::metrics::Metrics;

impl Metrics {
    /// Prometheus text exposition format 0.0.4. prometheus-client writes OpenMetrics; the two
    /// differ only in the counter TYPE/HELP names and the `# EOF` trailer, fixed up here.
    pub fn encode(&self) -> String {
        let mut open = String::new();
        if prometheus_client::encoding::text::encode(&mut open, &self.registry).is_err() {
            return String::new();
        }
        let mut out = String::with_capacity(open.len());
        let mut counters = Vec::new();
        for line in open.lines() {
            if let Some(name) = line
                .strip_prefix("# TYPE ")
                .and_then(|r| r.strip_suffix(" counter"))
            {
                counters.push(name.to_string());
            }
        }
        for line in open.lines() {
            if line == "# EOF" {
                continue;
            }
            let fixed = fix_meta_line(line, &counters);
            out.push_str(fixed.as_deref().unwrap_or(line));
            out.push('\n');
        }
        out
    }
}

/// `# HELP x ...` / `# TYPE x counter` → `x_total` for counters (0.0.4 names the sample).
fn fix_meta_line(line: &str, counters: &[String]) -> Option<String> {
    for prefix in ["# HELP ", "# TYPE "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.iter().any(|c| c == name) {
                return Some(format!("{prefix}{name}_total {tail}"));
            }
        }
    }
    None
}
