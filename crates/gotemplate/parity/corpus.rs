//! The parity corpus as files: `corpus.txt` (`--- name` headers, each followed by the
//! template's lines) over `inputs.txt` (`key<TAB>base64` lines). Read by the parity test and the
//! corpus bench.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub const PARITY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/parity");

pub fn read(file: &str) -> String {
    std::fs::read_to_string(format!("{PARITY}/{file}")).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// (name, template) in corpus order.
pub fn corpus() -> Vec<(String, String)> {
    let text = read("corpus.txt");
    let mut cases: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.strip_suffix('\n').unwrap_or(&text).split('\n') {
        if let Some(name) = line.strip_prefix("--- ") {
            cases.push((name.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = cases.last_mut() {
            lines.push(line);
        }
    }
    cases
        .into_iter()
        .map(|(name, lines)| (name, lines.join("\n")))
        .collect()
}

/// The data every template renders over.
pub fn inputs() -> BTreeMap<String, Vec<u8>> {
    read("inputs.txt")
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('\t').expect("key<TAB>base64");
            (
                key.to_owned(),
                STANDARD.decode(value).expect("base64 value"),
            )
        })
        .collect()
}
