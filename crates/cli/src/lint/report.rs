//! Output formats: human (`file:line: level: message [rule]`), JSON, and GitHub workflow
//! annotations.

use std::fmt::Write as _;

use super::checks::{Finding, Level};

/// A finding and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file as given or walked.
    pub file: String,
    /// The finding.
    pub finding: Finding,
}

/// Totals for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Documents checked (a List's items count one each).
    pub documents: usize,
    /// Findings of level error.
    pub errors: usize,
    /// Findings of level warning.
    pub warnings: usize,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// `file:line: level: message [rule]`, one per line.
    Human,
    /// One JSON object: `findings` and `summary`.
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
}

/// The report on standard output.
#[must_use]
pub fn render(findings: &[Located], summary: Summary, format: OutputFormat) -> String {
    match format {
        OutputFormat::Human => findings.iter().fold(String::new(), |mut out, l| {
            let f = &l.finding;
            let at = if f.line == 0 {
                l.file.clone()
            } else {
                format!("{}:{}", l.file, f.line)
            };
            let message = f.message.replace(['\n', '\r'], " ");
            let _ = writeln!(out, "{at}: {}: {message} [{}]", f.level.as_str(), f.rule);
            out
        }),
        OutputFormat::Github => findings.iter().fold(String::new(), |mut out, l| {
            let f = &l.finding;
            let command = match f.level {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            let mut properties = format!("file={}", escape_property(&l.file));
            if f.line > 0 {
                let _ = write!(properties, ",line={}", f.line);
            }
            let _ = write!(
                properties,
                ",title={}",
                escape_property(&format!("kubeseal lint: {}", f.rule))
            );
            let _ = writeln!(out, "::{command} {properties}::{}", escape_data(&f.message));
            out
        }),
        OutputFormat::Json => {
            let items: Vec<serde_json::Value> = findings
                .iter()
                .map(|l| {
                    serde_json::json!({
                        "file": l.file,
                        "line": l.finding.line,
                        "level": l.finding.level.as_str(),
                        "rule": l.finding.rule,
                        "message": l.finding.message,
                    })
                })
                .collect();
            let report = serde_json::json!({ "findings": items, "summary": summary });
            serde_json::to_string_pretty(&report).expect("a report serializes") + "\n"
        }
    }
}

/// The one-line summary for standard error.
#[must_use]
pub fn summary_line(summary: Summary) -> String {
    format!(
        "kubeseal lint: {} file(s), {} document(s): {} error(s), {} warning(s)",
        summary.files, summary.documents, summary.errors, summary.warnings
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Located> {
        vec![
            Located {
                file: "a,b.yaml".into(),
                finding: Finding {
                    line: 3,
                    level: Level::Error,
                    rule: "value",
                    message: "100% bad\nreally".into(),
                },
            },
            Located {
                file: "c.yaml".into(),
                finding: Finding {
                    line: 0,
                    level: Level::Warning,
                    rule: "parse",
                    message: "m".into(),
                },
            },
        ]
    }

    #[test]
    fn human_and_github() {
        let summary = Summary::default();
        assert_eq!(
            render(&sample(), summary, OutputFormat::Human),
            "a,b.yaml:3: error: 100% bad really [value]\nc.yaml: warning: m [parse]\n"
        );
        assert_eq!(
            render(&sample(), summary, OutputFormat::Github),
            "::error file=a%2Cb.yaml,line=3,title=kubeseal lint%3A value::100%25 bad%0Areally\n::warning file=c.yaml,title=kubeseal lint%3A parse::m\n"
        );
    }

    #[test]
    fn json_round_trips() {
        let summary = Summary {
            files: 2,
            documents: 1,
            errors: 1,
            warnings: 1,
        };
        let text = render(&sample(), summary, OutputFormat::Json);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["findings"][0]["line"], 3);
        assert_eq!(value["findings"][1]["level"], "warning");
        assert_eq!(value["summary"]["errors"], 1);
    }
}
