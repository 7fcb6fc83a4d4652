//! `kubeseal keys list --usage PATH...`: which key sealed which SealedSecrets, from their
//! sealed-with annotations.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::checks::Context;
use super::{check_files, display, walk};

/// SealedSecrets found under the paths, by the key that sealed them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Fingerprint → `file:line` of each SealedSecret sealed with it.
    pub by_fingerprint: BTreeMap<String, Vec<String>>,
    /// `file:line` of SealedSecrets without the annotation (sealed by upstream's kubeseal, or
    /// with `--no-sealed-with`).
    pub unrecorded: Vec<String>,
    /// Paths or files that could not be read or parsed.
    pub unreadable: Vec<String>,
}

/// Scans `paths` (as `kubeseal lint` walks them).
#[must_use]
pub fn scan(paths: &[PathBuf]) -> Usage {
    let (files, errors) = walk::files(paths);
    let mut usage = Usage {
        unreadable: errors.iter().map(|e| display(&e.path)).collect(),
        ..Usage::default()
    };
    let results = check_files(&files, &Context::default(), None);
    for (path, result) in files.iter().zip(results) {
        if result
            .findings
            .iter()
            .any(|f| f.rule == "read" || f.rule == "parse")
        {
            usage.unreadable.push(display(path));
        }
        for sealed in result.sealed {
            let at = format!("{}:{}", display(path), sealed.line);
            match sealed.sealed_with {
                Some(fingerprints) => {
                    for fingerprint in fingerprints {
                        usage
                            .by_fingerprint
                            .entry(fingerprint)
                            .or_default()
                            .push(at.clone());
                    }
                }
                None => usage.unrecorded.push(at),
            }
        }
    }
    usage
}

/// The table printed after `keys list`'s: per listed key (`(name, fingerprint)`), how many
/// SealedSecrets it sealed and, for keys that no longer seal, which files still need
/// `kubeseal reencrypt`; then keys not in the list and SealedSecrets that do not say.
#[must_use]
pub fn render(keys: &[(String, String, bool)], usage: &Usage) -> String {
    let mut out = String::from("\nSEALED SECRETS BY KEY\n");
    const NOT_LISTED: &str = "(not listed)";
    let unlisted = usage
        .by_fingerprint
        .keys()
        .any(|f| !keys.iter().any(|(_, listed, _)| listed == f));
    let width = keys
        .iter()
        .map(|(name, _, _)| name.len())
        .chain(unlisted.then_some(NOT_LISTED.len()))
        .max()
        .unwrap_or(0);
    for (name, fingerprint, sealing) in keys {
        let used = usage
            .by_fingerprint
            .get(fingerprint)
            .map_or(&[][..], Vec::as_slice);
        let _ = writeln!(out, "{name:<width$}  {fingerprint}  {}", used.len());
        if !*sealing {
            for at in used {
                let _ = writeln!(out, "  {at}");
            }
        }
    }
    for (fingerprint, used) in &usage.by_fingerprint {
        if keys.iter().any(|(_, f, _)| f == fingerprint) {
            continue;
        }
        let _ = writeln!(out, "{NOT_LISTED:<width$}  {fingerprint}  {}", used.len());
        for at in used {
            let _ = writeln!(out, "  {at}");
        }
    }
    if !usage.unrecorded.is_empty() {
        let _ = writeln!(
            out,
            "{} SealedSecret(s) without the sealed-with annotation: their key is unknown",
            usage.unrecorded.len()
        );
    }
    if !usage.unreadable.is_empty() {
        let _ = writeln!(
            out,
            "{} file(s) could not be read or parsed (run `kubeseal lint` on them)",
            usage.unreadable.len()
        );
    }
    out
}
