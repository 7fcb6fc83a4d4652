//! `kubeseal`: seal Kubernetes Secrets into SealedSecrets, flag-compatible with upstream.
//!
//! Errors are one line on stderr starting `error:` with exit status 1; usage errors exit 2;
//! a closed standard output (e.g. `| head`) ends the run quietly.

mod certs;
mod cli;
mod clusters;
mod escrow;
mod files;
mod keys;
mod kubeconfig;
mod lint;
mod modes;
mod online;
mod plain_args;
mod sealed_with;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let mut cli = cli::parse();
    apply_rotate_alias(&mut cli);
    if let Some(Command::Lint(args)) = &cli.command {
        return lint::main(&cli, args);
    }
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// `--rotate` is upstream's deprecated spelling of `--re-encrypt` (clap takes it as an
/// alias); its own environment variable is honoured too, read as upstream's environment layer
/// reads it: a Go boolean, anything else ignored.
fn apply_rotate_alias(cli: &mut Cli) {
    if std::env::args_os().any(|a| a == "--rotate" || a.to_string_lossy().starts_with("--rotate="))
    {
        eprintln!("Flag --rotate has been deprecated, please use --re-encrypt instead");
    }
    if let Some(value) = std::env::var_os("SEALED_SECRETS_ROTATE")
        && seal::go_flags::parse_bool(&value.to_string_lossy()) == Ok(true)
    {
        cli.re_encrypt = true;
    }
}

fn run(cli: &Cli) -> Result<()> {
    if cli.version {
        let mut out = io::stdout().lock();
        writeln!(out, "kubeseal version: v{}", env!("CARGO_PKG_VERSION"))?;
        return Ok(out.flush()?);
    }
    match &cli.command {
        Some(Command::Completion(args)) => {
            let mut buffer = Vec::new();
            clap_complete::generate(args.shell, &mut cli::command(), "kubeseal", &mut buffer);
            files::Sink::Stdout.write(&buffer)
        }
        Some(Command::Man) => {
            let mut buffer = Vec::new();
            clap_mangen::Man::new(cli::command()).render(&mut buffer)?;
            files::Sink::Stdout.write(&buffer)
        }
        Some(Command::Keys(command)) => keys::run(command),
        Some(Command::Reencrypt(args)) => keys::run_reencrypt(args),
        Some(Command::Lint(_)) => unreachable!("lint runs before"),
        None => {
            let clusters = clusters::named(cli)?;
            if clusters.is_empty() {
                modes::run(cli)
            } else {
                clusters::seal(cli, &clusters)
            }
        }
    }
}

fn report(error: &anyhow::Error) -> ExitCode {
    let broken_pipe = error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let message = format!("{error:#}").replace(['\n', '\r'], " ");
    let _ = writeln!(io::stderr(), "error: {message}");
    if error.downcast_ref::<modes::Usage>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}
