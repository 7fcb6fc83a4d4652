//! `kubeseal keys list`: every key with its dates, status, the one that seals, backups and (with
//! `--usage`) the files it sealed.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result};
use seal::{Format, write_documents};
use serde::{Deserialize, Serialize};

use super::source_args::{SourceArgs, warn_all};
use super::stored::{Loaded, format_time};

/// `kubeseal keys list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Output format: table, json or yaml.
    #[arg(short = 'o', long = "output", default_value = "table", value_parser = ["table", "json", "yaml"])]
    pub output: String,
    /// Also count, per key, the SealedSecrets under these files or directories that its
    /// certificate sealed (from their sealed-with annotations).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub usage: Vec<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// One row of `keys list` (public facts only).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyRow {
    /// Secret name, or file stem in a keyring.
    pub name: String,
    /// `SHA256:…`.
    pub fingerprint: String,
    /// Modulus size.
    pub bits: usize,
    /// When the key was stored.
    pub created: Option<String>,
    /// Certificate validity start.
    pub not_before: Option<String>,
    /// Certificate validity end.
    pub not_after: Option<String>,
    /// Whether the certificate has expired (kubeseal refuses to seal with it).
    pub expired: bool,
    /// `active` or `compromised`.
    pub status: String,
    /// Whether this key seals new secrets.
    pub sealing: bool,
    /// Whether a backup was recorded since the key was stored.
    pub backed_up: bool,
    /// When, as recorded.
    pub backed_up_at: Option<String>,
    /// With `--usage`: `file:line` of each SealedSecret this key sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<String>>,
}

fn rows(loaded: &Loaded) -> Vec<KeyRow> {
    let sealing = loaded.sealing().map(|k| k.fingerprint().clone());
    let now = SystemTime::now();
    loaded
        .keys
        .iter()
        .map(|k| KeyRow {
            name: k.id().to_owned(),
            fingerprint: k.fingerprint().to_string(),
            bits: k.record.key.public_key().bits(),
            created: k.record.created.map(format_time),
            not_before: k
                .record
                .certificate
                .as_ref()
                .map(|c| format_time(c.not_before())),
            not_after: k
                .record
                .certificate
                .as_ref()
                .map(|c| format_time(c.not_after())),
            expired: k
                .record
                .certificate
                .as_ref()
                .is_some_and(|c| c.not_after() < now),
            status: k.record.status.label().into(),
            sealing: sealing.as_ref() == Some(k.fingerprint()),
            backed_up: k.backed_up(),
            backed_up_at: k.record.backed_up_at.clone(),
            used_by: None,
        })
        .collect()
}

pub(super) fn list(args: &ListArgs) -> Result<()> {
    let store = args.source.store()?;
    let loaded = store.load()?;
    warn_all(&loaded);
    let mut rows = rows(&loaded);
    let usage = (!args.usage.is_empty()).then(|| crate::lint::usage::scan(&args.usage));
    if let Some(usage) = &usage {
        for row in &mut rows {
            row.used_by = Some(
                usage
                    .by_fingerprint
                    .get(&row.fingerprint)
                    .cloned()
                    .unwrap_or_default(),
            );
        }
    }
    let text = match args.output.as_str() {
        "json" => serde_json::to_string_pretty(&rows).expect("rows serialize") + "\n",
        "yaml" => {
            let mut text = write_documents(std::slice::from_ref(&rows), Format::Yaml)
                .trim_start_matches("---\n")
                .to_owned();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        }
        _ => {
            let mut text = table(&rows, &store.describe());
            if let Some(usage) = &usage {
                let keys: Vec<_> = rows
                    .iter()
                    .map(|r| (r.name.clone(), r.fingerprint.clone(), r.sealing))
                    .collect();
                text.push_str(&crate::lint::usage::render(&keys, usage));
            }
            text
        }
    };
    io::stdout()
        .write_all(text.as_bytes())
        .context("cannot write to standard output")
}

fn table(rows: &[KeyRow], source: &str) -> String {
    if rows.is_empty() {
        return format!("no sealing keys in {source}\n");
    }
    let header = [
        "NAME",
        "FINGERPRINT",
        "BITS",
        "CREATED",
        "VALID UNTIL",
        "STATUS",
        "SEALS",
        "BACKED UP",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.fingerprint.clone(),
                r.bits.to_string(),
                r.created.clone().unwrap_or_else(|| "-".into()),
                match (&r.not_after, r.expired) {
                    (Some(t), true) => format!("{t} (expired)"),
                    (Some(t), false) => t.clone(),
                    (None, _) => "-".into(),
                },
                r.status.clone(),
                if r.sealing { "yes" } else { "" }.into(),
                match (&r.backed_up_at, r.backed_up) {
                    (Some(t), true) => t.clone(),
                    _ => "never".into(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: &[&str]| {
        let mut l = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &cells {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let never = rows.iter().filter(|r| !r.backed_up).count();
    if never > 0 {
        out.push_str(&format!(
            "\n{never} key(s) never backed up: run `kubeseal keys backup`\n"
        ));
    }
    out
}
