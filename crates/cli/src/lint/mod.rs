//! `kubeseal lint [PATH...]`: offline checks of a tree of manifests, for CI and pre-commit.
//!
//! The shell: walk ([`walk`]), read and parse with line numbers ([`document`]), check each
//! document ([`checks`], pure), check across files (duplicates), print ([`report`]). Files
//! are never written. Exit status: 0 clean, 1 findings (errors, or warnings with
//! `--warnings-as-errors`), 2 when the checks could not run (bad `--cert`, unreadable keys).

pub mod args;
mod cert_set;
pub mod checks;
pub mod document;
pub mod report;
pub mod usage;
pub mod walk;

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, anyhow, bail};
use seal::SealedSecret;
use zeroize::Zeroizing;

use crate::cli::Cli;
use crate::keys::{KeySources, PassphraseArgs, Unlock, load_keyring};
use crate::online::Controller;
use args::LintArgs;
use checks::{Context, Finding, Identity, Level};
use report::{Located, OutputFormat, Summary};

/// Stack of each checking thread (see [`check_files`]).
const WORKER_STACK_BYTES: usize = 64 << 20;

/// Largest file read: anything bigger is reported instead of read.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Runs `kubeseal lint`, printing the report; the exit status says how it went.
pub fn main(cli: &Cli, args: &LintArgs) -> ExitCode {
    match run(cli, args) {
        Ok(code) => code,
        Err(e) => {
            let message = format!("{e:#}").replace(['\n', '\r'], " ");
            let _ = writeln!(io::stderr(), "error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli, args: &LintArgs) -> Result<ExitCode> {
    let context = Context {
        certs: if args.certs.is_empty() {
            None
        } else {
            Some(cert_set::load(cli, &args.certs)?)
        },
        keyring: keyring(args)?,
        keep_objects: args.controller,
        escrow_recipients: if args.escrow_recipient.is_empty() {
            None
        } else {
            let recipients = crate::escrow::resolve(&args.escrow_recipient, false)?;
            Some(recipients.into_iter().map(|r| r.id).collect())
        },
    };
    let controller = if args.controller {
        Some(Controller::connect(cli)?)
    } else {
        None
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut ask = |sealed: &SealedSecret| verify_with(controller.as_ref(), sealed);
    let verify: Option<&mut Verifier<'_>> = if controller.is_some() {
        Some(&mut ask)
    } else {
        None
    };
    let (findings, summary) = lint(&paths, &context, args.jobs, verify)?;
    let text = report::render(&findings, summary, args.format);
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    if args.format != OutputFormat::Json {
        eprintln!("{}", report::summary_line(summary));
    }
    let failed = summary.errors > 0 || (args.warnings_as_errors && summary.warnings > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn keyring(args: &LintArgs) -> Result<Option<seal::Keyring>> {
    let sources = KeySources {
        keyrings: args.keyring.clone(),
        files: args.recovery_private_key.clone(),
        unlock: Unlock {
            identities: args.identity.clone(),
            passphrase: PassphraseArgs {
                passphrase: false,
                passphrase_file: args.passphrase_file.clone(),
            },
        },
    };
    if sources.is_empty() {
        return Ok(None);
    }
    let (keyring, _) = load_keyring(&sources)?;
    if keyring.is_empty() {
        bail!("no private keys in --recovery-private-key/--keyring");
    }
    Ok(Some(keyring))
}

/// What one file gave.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Its findings, by line.
    pub findings: Vec<Finding>,
    /// Its SealedSecrets.
    pub sealed: Vec<Identity>,
    /// Documents checked.
    pub documents: usize,
}

/// How a file is named in findings: as walked, without a leading `./`.
pub(crate) fn display(path: &Path) -> String {
    match path.strip_prefix(".") {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// Asks about one SealedSecret: `Ok(None)` when it opens, `Ok(Some(finding))` when not.
pub type Verifier<'a> = dyn FnMut(&SealedSecret) -> Result<Option<String>> + 'a;

fn verify_with(controller: Option<&Controller>, sealed: &SealedSecret) -> Result<Option<String>> {
    let Some(controller) = controller else {
        return Ok(None);
    };
    let body = serde_json::to_vec(sealed)?;
    let reply = controller
        .post("verify", body)
        .map_err(|e| anyhow!("cannot verify with the controller: {e:#}"))?;
    match reply.status.as_u16() {
        200..=299 => Ok(None),
        409 => Ok(Some(
            "the controller cannot open its values (/v1/verify)".to_owned(),
        )),
        _ => bail!("cannot verify with the controller: {}", reply.message()),
    }
}

/// Lints `paths`: every finding in file order and line order, and the totals. With
/// `verify`, each SealedSecret is also asked about, one after another.
///
/// # Errors
/// Only what `verify` returns (the controller cannot be asked).
pub fn lint(
    paths: &[PathBuf],
    context: &Context,
    jobs: Option<usize>,
    mut verify: Option<&mut Verifier<'_>>,
) -> Result<(Vec<Located>, Summary)> {
    let (files, walk_errors) = walk::files(paths);
    let mut results = check_files(&files, context, jobs);
    if let Some(verify) = verify.as_mut() {
        for result in &mut results {
            for identity in &result.sealed {
                let Some(object) = &identity.object else {
                    continue;
                };
                if let Some(message) = verify(object)? {
                    result.findings.push(Finding {
                        line: identity.line,
                        level: Level::Error,
                        rule: "does-not-open",
                        message,
                    });
                }
            }
        }
    }
    let mut located: Vec<Located> = walk_errors
        .into_iter()
        .map(|e| Located {
            file: display(&e.path),
            finding: Finding {
                line: 0,
                level: Level::Error,
                rule: "read",
                message: format!("cannot read: {}", e.message),
            },
        })
        .collect();
    let mut per_file: Vec<Vec<Finding>> = results.iter().map(|r| r.findings.clone()).collect();
    let identities: Vec<(usize, &Identity)> = results
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.sealed.iter().map(move |s| (i, s)))
        .collect();
    for (later, first) in checks::duplicates(&identities) {
        let (file, identity) = identities[later];
        let (first_file, first_identity) = identities[first];
        per_file[file].push(Finding {
            line: identity.line,
            level: Level::Error,
            rule: "duplicate",
            message: format!(
                "SealedSecret {}/{} is also defined at {}:{}",
                identity.namespace,
                identity.name,
                display(&files[first_file]),
                first_identity.line
            ),
        });
    }
    let mut summary = Summary {
        files: files.len(),
        documents: results.iter().map(|r| r.documents).sum(),
        ..Summary::default()
    };
    for (path, mut findings) in files.iter().zip(per_file) {
        findings.sort_by_key(|f| f.line);
        let file = display(path);
        located.extend(findings.into_iter().map(|finding| Located {
            file: file.clone(),
            finding,
        }));
    }
    for l in &located {
        match l.finding.level {
            Level::Error => summary.errors += 1,
            Level::Warning => summary.warnings += 1,
        }
    }
    Ok((located, summary))
}

/// Checks `files` on `jobs` threads; results in the order of `files`.
#[must_use]
pub fn check_files(files: &[PathBuf], context: &Context, jobs: Option<usize>) -> Vec<FileResult> {
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, 64)
        .min(files.len().max(1));
    let results: Mutex<Vec<Option<FileResult>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let worker = || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let result = check_file(path, context);
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(result);
                }
            };
            // The YAML decoder stops at 64 levels of nesting (JSON at 128), but each level
            // costs several frames of the span-keeping decoder: more than a default thread
            // stack holds in a debug build (stack overflow found with 60 nested `[`).
            std::thread::Builder::new()
                .stack_size(WORKER_STACK_BYTES)
                .spawn_scoped(scope, worker)
                .expect("cannot start a lint thread");
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

fn file_error(rule: &'static str, message: String) -> FileResult {
    FileResult {
        findings: vec![Finding {
            line: 0,
            level: Level::Error,
            rule,
            message,
        }],
        ..FileResult::default()
    }
}

/// Reads at most [`MAX_FILE_BYTES`] (+1, to tell a larger file) into wiping memory.
fn read_bounded(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    let file = fs::File::open(path)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads, parses and checks one file.
#[must_use]
pub fn check_file(path: &Path, context: &Context) -> FileResult {
    let bytes = match read_bounded(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            return file_error(
                "read",
                format!("cannot read: {}", crate::files::describe_io(&e)),
            );
        }
    };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return file_error(
            "read",
            format!("larger than {} MiB: not checked", MAX_FILE_BYTES >> 20),
        );
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return file_error("parse", "not valid UTF-8: not checked".to_owned());
    };
    check_text(text, context)
}

/// Parses and checks the text of one file.
#[must_use]
pub fn check_text(text: &str, context: &Context) -> FileResult {
    let docs = match document::parse(text) {
        Ok(docs) => docs,
        Err(e) => {
            // A file that never mentions a Secret may be anything (a Helm template, a
            // config): say it was skipped, without failing the run over it.
            let level = if text.contains("Secret") {
                Level::Error
            } else {
                Level::Warning
            };
            return FileResult {
                findings: vec![Finding {
                    line: e.line,
                    level,
                    rule: "parse",
                    message: format!("does not parse, not checked: {}", e.message),
                }],
                ..FileResult::default()
            };
        }
    };
    let mut result = FileResult {
        documents: docs.len(),
        ..FileResult::default()
    };
    for doc in &docs {
        let checked = checks::check_document(doc, context);
        result.findings.extend(checked.findings);
        result.sealed.extend(checked.sealed);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs [`check_text`] as [`check_files`] does (on a worker's stack); false if it panicked.
    fn checked_on_a_worker_stack(text: String) -> bool {
        std::thread::Builder::new()
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || check_text(&text, &Context::default()).findings.len())
            .expect("a thread")
            .join()
            .is_ok()
    }

    /// Found by hand: 60 nested flow sequences overflowed a default thread stack.
    #[test]
    fn nesting_up_to_the_decoders_limits_is_checked_not_a_crash() {
        for depth in [60, 64, 65, 127, 129, 100_000] {
            for (open, close) in [("[", "]"), ("{a: ", "}")] {
                let text = format!("a: {}{}", open.repeat(depth), close.repeat(depth));
                assert!(checked_on_a_worker_stack(text), "YAML depth {depth}");
            }
            let json = format!("{{\"a\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
            assert!(checked_on_a_worker_stack(json), "JSON depth {depth}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whatever the text, checking it returns findings and never panics.
        #[test]
        fn lint_never_panics_on_yaml_ish_text(
            text in "([ \\-:{}\\[\\],\"'#|>&*!%@`\n\t]|kind|SealedSecret|Secret|List|items|spec|encryptedData|metadata|data|template|AQ==|AgB[A-Za-z0-9+/=]{0,8}|[a-z0-9]{1,4}){0,64}"
        ) {
            prop_assert!(checked_on_a_worker_stack(text));
        }

        /// JSON-shaped text too, through the JSON stream splitter.
        #[test]
        fn lint_never_panics_on_json_ish_text(text in "\\{[ \\-:{}\\[\\],\"\\\\a-z0-9\n]{0,64}") {
            prop_assert!(checked_on_a_worker_stack(text));
        }
    }
}
