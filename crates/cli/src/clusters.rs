//! Sealing for several clusters in one run: `--cert NAME=FILE|URL` repeated. The plaintext is
//! read once; each cluster gets its own ordinary SealedSecret (or raw value), written to the
//! `-w`/`--merge-into` path with `{cluster}` replaced by its name, or to standard output one
//! after another.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use seal::{Certificate, Format, write_documents};

use crate::certs;
use crate::cli::Cli;
use crate::escrow::Recipient;
use crate::files::Sink;
use crate::modes::{
    default_scope, merge_target, merged_file, output_format, output_sink, raw_input,
    read_secret_input, seal_all, seal_raw, sealing_recipients, usage, write_merged,
};

/// The placeholder of `-w` and `--merge-into` paths.
const PLACEHOLDER: &str = "{cluster}";

/// One `--cert NAME=LOCATION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub location: String,
}

/// The named certificates of the command line: empty when `--cert` is given once as a plain
/// location (or not at all), which is upstream's one-cluster sealing.
///
/// # Errors
/// A usage error when `--cert` is repeated without names, or a name is repeated.
pub fn named(cli: &Cli) -> Result<Vec<Cluster>> {
    let named: Vec<Option<Cluster>> = cli.certs.iter().map(|c| parse(c)).collect();
    if named.iter().all(Option::is_none) {
        return match cli.certs.len() {
            0 | 1 => Ok(Vec::new()),
            _ => Err(usage(
                "--cert is given several times: name each certificate (--cert NAME=FILE|URL) to seal for several clusters",
            )),
        };
    }
    let mut clusters = Vec::new();
    for (given, cluster) in cli.certs.iter().zip(named) {
        let cluster = cluster.ok_or_else(|| {
            usage(format!(
                "--cert {given}: name every certificate (NAME=FILE|URL) when one is named"
            ))
        })?;
        if clusters.iter().any(|c: &Cluster| c.name == cluster.name) {
            return Err(usage(format!(
                "--cert {given}: the cluster name {:?} is given twice",
                cluster.name
            )));
        }
        clusters.push(cluster);
    }
    Ok(clusters)
}

/// `NAME=LOCATION`, where NAME is a DNS-label-like word; anything else (a path, a URL, a file
/// whose name has `=` in it) is a plain location.
fn parse(given: &str) -> Option<Cluster> {
    let (name, location) = given.split_once('=')?;
    let word = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    (word && !location.is_empty() && !Path::new(given).exists()).then(|| Cluster {
        name: name.to_owned(),
        location: location.to_owned(),
    })
}

/// `template` with `{cluster}` replaced by `name`; with one cluster the placeholder may be left
/// out.
fn path_for(flag: &str, template: &Path, name: &str, clusters: usize) -> Result<PathBuf> {
    let text = template
        .to_str()
        .ok_or_else(|| usage(format!("{flag} {}: not valid UTF-8", template.display())))?;
    if !text.contains(PLACEHOLDER) && clusters > 1 {
        return Err(usage(format!(
            "{flag} {text}: put {PLACEHOLDER} in the path to write one file per cluster"
        )));
    }
    Ok(PathBuf::from(text.replace(PLACEHOLDER, name)))
}

/// Seals the input once for every cluster of `clusters` (from [`named`]): bare `kubeseal`
/// when `--cert` names clusters, instead of [`crate::modes::run`].
///
/// # Errors
/// Any certificate that cannot be read or is expired, input that cannot be sealed, a path
/// without `{cluster}`: all before anything is written.
pub fn seal(cli: &Cli, clusters: &[Cluster]) -> Result<()> {
    if cli.recovery_unseal || cli.validate || cli.re_encrypt || cli.fetch_cert {
        return Err(usage(
            "--cert NAME=FILE|URL (several clusters) is for sealing, --raw and --merge-into only",
        ));
    }
    if !cli.from_file.is_empty() && !cli.raw {
        return Err(usage("--from-file requires --raw"));
    }
    // Fail on a bad -o or escrow recipient before any network or crypto work.
    let recipients = sealing_recipients(cli)?;
    let certs: Vec<(&Cluster, Certificate)> = clusters
        .iter()
        .map(|cluster| {
            certs::certificate_at(cli, Some(&cluster.location))
                .with_context(|| format!("cluster {}", cluster.name))
                .map(|cert| (cluster, cert))
        })
        .collect::<Result<_>>()?;
    let written = if let Some(template) = &cli.merge_into {
        merge_into_each(cli, template, &certs, &recipients)
    } else if cli.raw {
        raw_for_each(cli, &certs)
    } else {
        seal_for_each(cli, &certs, &recipients)
    };
    written?;
    for (_, cert) in &certs {
        certs::warn_after(cert, Ok(()))?;
    }
    Ok(())
}

fn seal_for_each(
    cli: &Cli,
    certs: &[(&Cluster, Certificate)],
    recipients: &[Recipient],
) -> Result<()> {
    let (input, secrets) = read_secret_input(cli)?;
    let mut outputs = Vec::new();
    for (cluster, cert) in certs {
        let sealed = seal_all(
            cli,
            &input.source,
            &secrets,
            cert,
            default_scope(cli),
            cli.name.clone().filter(|n| !n.is_empty()),
            recipients,
        )
        .with_context(|| format!("cluster {}", cluster.name))?;
        let target = match &cli.sealed_secret_file {
            Some(template) => Some(path_for("-w", template, &cluster.name, certs.len())?),
            None => None,
        };
        let format = output_format(cli, target.as_deref(), Format::detect(&input.text))?;
        outputs.push((cluster, target, format, write_documents(&sealed, format)));
    }
    drop(secrets);
    let files: Vec<(PathBuf, &str)> = outputs
        .iter()
        .filter_map(|(_, target, _, text)| Some((target.clone()?, text.as_str())))
        .collect();
    if !files.is_empty() {
        for (path, text) in files {
            Sink::File {
                path,
                private: false,
            }
            .write(text.as_bytes())?;
        }
        return Ok(());
    }
    let mut stream = String::new();
    for (cluster, _, format, text) in &outputs {
        // JSON has no comments: there the documents follow the order of the --cert flags.
        if *format == Format::Yaml {
            let _ = writeln!(stream, "# cluster: {}", cluster.name);
        }
        stream.push_str(text);
    }
    output_sink(cli).write(stream.as_bytes())
}

fn raw_for_each(cli: &Cli, certs: &[(&Cluster, Certificate)]) -> Result<()> {
    let (label, value) = raw_input(cli)?;
    let sealed: Vec<(&Cluster, String)> = certs
        .iter()
        .map(|(cluster, cert)| (*cluster, seal_raw(cert, &label, &value)))
        .collect();
    drop(value);
    match &cli.sealed_secret_file {
        Some(template) => {
            let targets: Vec<PathBuf> = sealed
                .iter()
                .map(|(cluster, _)| path_for("-w", template, &cluster.name, certs.len()))
                .collect::<Result<_>>()?;
            for (target, (_, value)) in targets.into_iter().zip(&sealed) {
                Sink::File {
                    path: target,
                    private: false,
                }
                .write(value.as_bytes())?;
            }
            Ok(())
        }
        None => {
            let lines: String = sealed
                .iter()
                .map(|(cluster, value)| format!("{}: {value}\n", cluster.name))
                .collect();
            Sink::Stdout.write(lines.as_bytes())
        }
    }
}

fn merge_into_each(
    cli: &Cli,
    template: &Path,
    certs: &[(&Cluster, Certificate)],
    recipients: &[Recipient],
) -> Result<()> {
    let targets: Vec<PathBuf> = certs
        .iter()
        .map(|(cluster, _)| path_for("--merge-into", template, &cluster.name, certs.len()))
        .collect::<Result<_>>()?;
    for target in &targets {
        if !target.is_file() {
            return Err(anyhow!("open {}: no such file", target.display()));
        }
    }
    let (input, secrets) = read_secret_input(cli)?;
    // Every file merged before any is written: a file that cannot take the items leaves all
    // of them as they were.
    let mut merged = Vec::with_capacity(targets.len());
    for ((cluster, cert), target) in certs.iter().zip(&targets) {
        let text = merged_file(
            cli,
            target,
            cert,
            recipients,
            &input.source,
            secrets.clone(),
        )
        .with_context(|| format!("cluster {}", cluster.name))?;
        merged.push(text);
    }
    drop(secrets);
    let files: Vec<PathBuf> = targets
        .iter()
        .map(|t| merge_target(t))
        .collect::<Result<_>>()?;
    for (file, text) in files.iter().zip(&merged) {
        write_merged(file, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_words_before_an_equals_sign() {
        assert_eq!(
            parse("prod=certs/prod.pem"),
            Some(Cluster {
                name: "prod".into(),
                location: "certs/prod.pem".into()
            })
        );
        assert_eq!(
            parse("eu-west_1.a=https://x/v1/cert.pem?a=b").map(|c| c.name),
            Some("eu-west_1.a".into())
        );
        for plain in [
            "certs/prod.pem",
            "https://host/v1/cert.pem?x=y",
            "./a=b.pem",
            "=x.pem",
            "prod=",
            "-prod=x.pem",
        ] {
            assert_eq!(parse(plain), None, "{plain}");
        }
    }

    #[test]
    fn several_clusters_need_the_placeholder() {
        let t = Path::new("overlays/{cluster}/db.yaml");
        assert_eq!(
            path_for("-w", t, "prod", 2).unwrap(),
            Path::new("overlays/prod/db.yaml")
        );
        assert!(path_for("-w", Path::new("db.yaml"), "prod", 2).is_err());
        assert_eq!(
            path_for("-w", Path::new("db.yaml"), "prod", 1).unwrap(),
            Path::new("db.yaml")
        );
    }
}
