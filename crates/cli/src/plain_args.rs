//! The bare command's flags read without building clap's parser, for the run that matters
//! most: sealing, in loops and pipelines. Building clap's parser for kubeseal's 60-odd flags
//! (every argument with its environment variable, default and matches) costs more than
//! anything but the RSA work in sealing a small Secret.
//!
//! The clap derive in [`crate::cli`] stays the definition: it writes `--help`, completions and
//! the man page, and it reads every command line this module does not take. This module takes
//! only the plain forms (`--flag=value`, `--flag value`, `-f value`, `--bool`, `--bool=value`)
//! of the bare command's flags, with well-formed values; anything else (help, a subcommand,
//! `--`, `-fvalue`, a value starting with `-`, an unknown flag, a value clap would refuse)
//! returns `None` and clap reads the command line, errors included. Its tests check that the
//! table below matches the derive and that every command line it takes comes out as clap's.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use seal::go_flags;

use crate::cli::{Cli, DEFAULT_CONTROLLER_NAME, DEFAULT_CONTROLLER_NAMESPACE};
use crate::kubeconfig::KubeArgs;

/// How a flag takes values, as its clap definition says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One value; given again, the last wins.
    Value,
    /// Comma-separated values; given again, they add up.
    List,
    /// One value per use; given again, they add up.
    Append,
    /// A Go boolean: `--flag` is true, `--flag=VALUE` (only with `=`) is parsed.
    Bool,
}

#[derive(Debug)]
struct Flag {
    /// clap's argument id: the field's name.
    id: &'static str,
    long: &'static str,
    short: Option<char>,
    env: Option<&'static str>,
    kind: Kind,
}

const fn flag(
    id: &'static str,
    long: &'static str,
    short: Option<char>,
    env: Option<&'static str>,
    kind: Kind,
) -> Flag {
    Flag {
        id,
        long,
        short,
        env,
        kind,
    }
}

#[rustfmt::skip]
const FLAGS: &[Flag] = &[
    flag("secret_file", "secret-file", Some('f'), Some("SEALED_SECRETS_SECRET_FILE"), Kind::Value),
    flag("sealed_secret_file", "sealed-secret-file", Some('w'), Some("SEALED_SECRETS_SEALED_SECRET_FILE"), Kind::Value),
    flag("format", "format", Some('o'), Some("SEALED_SECRETS_FORMAT"), Kind::Value),
    flag("scope", "scope", None, Some("SEALED_SECRETS_SCOPE"), Kind::Value),
    flag("name", "name", None, Some("SEALED_SECRETS_NAME"), Kind::Value),
    flag("allow_empty_data", "allow-empty-data", None, Some("SEALED_SECRETS_ALLOW_EMPTY_DATA"), Kind::Bool),
    flag("raw", "raw", None, Some("SEALED_SECRETS_RAW"), Kind::Bool),
    flag("from_file", "from-file", None, Some("SEALED_SECRETS_FROM_FILE"), Kind::List),
    flag("merge_into", "merge-into", None, Some("SEALED_SECRETS_MERGE_INTO"), Kind::Value),
    flag("no_sealed_with", "no-sealed-with", None, Some("SEALED_SECRETS_NO_SEALED_WITH"), Kind::Bool),
    flag("escrow_recipient", "escrow-recipient", None, Some("SEALED_SECRETS_ESCROW_RECIPIENTS"), Kind::List),
    flag("no_escrow", "no-escrow", None, Some("SEALED_SECRETS_NO_ESCROW"), Kind::Bool),
    flag("certs", "cert", None, Some("SEALED_SECRETS_CERT"), Kind::Append),
    flag("fetch_cert", "fetch-cert", None, Some("SEALED_SECRETS_FETCH_CERT"), Kind::Bool),
    flag("allow_expired_cert", "allow-expired-cert", None, Some("SEALED_SECRETS_ALLOW_EXPIRED_CERT"), Kind::Bool),
    flag("controller_name", "controller-name", None, Some("SEALED_SECRETS_CONTROLLER_NAME"), Kind::Value),
    flag("controller_namespace", "controller-namespace", None, Some("SEALED_SECRETS_CONTROLLER_NAMESPACE"), Kind::Value),
    flag("controller_url", "controller-url", None, Some("SEALED_SECRETS_CONTROLLER_URL"), Kind::Value),
    flag("validate", "validate", None, Some("SEALED_SECRETS_VALIDATE"), Kind::Bool),
    flag("re_encrypt", "re-encrypt", None, Some("SEALED_SECRETS_RE_ENCRYPT"), Kind::Bool),
    flag("recovery_unseal", "recovery-unseal", None, Some("SEALED_SECRETS_RECOVERY_UNSEAL"), Kind::Bool),
    flag("recovery_private_key", "recovery-private-key", None, Some("SEALED_SECRETS_RECOVERY_PRIVATE_KEY"), Kind::List),
    flag("keyring", "keyring", None, Some("SEALED_SECRETS_KEYRING"), Kind::List),
    flag("identity", "identity", Some('i'), Some("SEALED_SECRETS_IDENTITY"), Kind::List),
    flag("passphrase", "passphrase", None, None, Kind::Bool),
    flag("passphrase_file", "passphrase-file", None, Some("SEALED_SECRETS_PASSPHRASE_FILE"), Kind::Value),
    flag("namespace", "namespace", Some('n'), Some("SEALED_SECRETS_NAMESPACE"), Kind::Value),
    flag("kubeconfig", "kubeconfig", None, Some("SEALED_SECRETS_KUBECONFIG"), Kind::Value),
    flag("context", "context", None, Some("SEALED_SECRETS_CONTEXT"), Kind::Value),
    flag("cluster", "cluster", None, Some("SEALED_SECRETS_CLUSTER"), Kind::Value),
    flag("user", "user", None, Some("SEALED_SECRETS_USER"), Kind::Value),
    flag("server", "server", Some('s'), Some("SEALED_SECRETS_SERVER"), Kind::Value),
    flag("token", "token", None, Some("SEALED_SECRETS_TOKEN"), Kind::Value),
    flag("as_user", "as", None, Some("SEALED_SECRETS_AS"), Kind::Value),
    flag("as_group", "as-group", None, Some("SEALED_SECRETS_AS_GROUP"), Kind::List),
    flag("as_uid", "as-uid", None, Some("SEALED_SECRETS_AS_UID"), Kind::Value),
    flag("certificate_authority", "certificate-authority", None, Some("SEALED_SECRETS_CERTIFICATE_AUTHORITY"), Kind::Value),
    flag("client_certificate", "client-certificate", None, Some("SEALED_SECRETS_CLIENT_CERTIFICATE"), Kind::Value),
    flag("client_key", "client-key", None, Some("SEALED_SECRETS_CLIENT_KEY"), Kind::Value),
    flag("insecure_skip_tls_verify", "insecure-skip-tls-verify", None, Some("SEALED_SECRETS_INSECURE_SKIP_TLS_VERIFY"), Kind::Bool),
    flag("proxy_url", "proxy-url", None, Some("SEALED_SECRETS_PROXY_URL"), Kind::Value),
    flag("disable_compression", "disable-compression", None, Some("SEALED_SECRETS_DISABLE_COMPRESSION"), Kind::Bool),
    flag("tls_server_name", "tls-server-name", None, Some("SEALED_SECRETS_TLS_SERVER_NAME"), Kind::Value),
    flag("request_timeout", "request-timeout", None, Some("SEALED_SECRETS_REQUEST_TIMEOUT"), Kind::Value),
    flag("username", "username", None, Some("SEALED_SECRETS_USERNAME"), Kind::Value),
    flag("password", "password", None, Some("SEALED_SECRETS_PASSWORD"), Kind::Value),
    flag("version", "version", None, Some("SEALED_SECRETS_VERSION"), Kind::Bool),
    flag("verbosity", "v", Some('v'), None, Kind::Value),
];

/// The command line `args` (without the program name) as clap would read it, with `env` for
/// the `SEALED_SECRETS_*` variables (set but empty counts as unset); `None` when clap has to
/// read it.
pub fn parse(args: &[OsString], env: impl Fn(&str) -> Option<OsString>) -> Option<Cli> {
    let mut given: Vec<Option<Vec<OsString>>> = vec![None; FLAGS.len()];
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let arg = arg.to_str()?;
        let (index, inline) = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            (FLAGS.iter().position(|f| f.long == name)?, inline)
        } else {
            let mut short = arg.strip_prefix('-')?.chars();
            let (Some(c), None) = (short.next(), short.next()) else {
                return None;
            };
            (FLAGS.iter().position(|f| f.short == Some(c))?, None)
        };
        let kind = FLAGS[index].kind;
        let value = match (kind, inline) {
            (Kind::Bool, None) => OsString::from("true"),
            (_, Some(value)) => OsString::from(value),
            (_, None) => {
                let value = args.next()?;
                if value.as_encoded_bytes().starts_with(b"-") {
                    return None;
                }
                value.clone()
            }
        };
        // Every use is kept: clap checks each value, even one a later use replaces.
        let values = given[index].get_or_insert_default();
        match kind {
            Kind::List => values.extend(split(&value)?),
            Kind::Value | Kind::Bool | Kind::Append => values.push(value),
        }
    }
    for (flag, values) in FLAGS.iter().zip(&mut given) {
        if values.is_some() {
            continue;
        }
        if let Some(value) = flag.env.and_then(&env).filter(|v| !v.is_empty()) {
            *values = Some(match flag.kind {
                Kind::List => split(&value)?,
                _ => vec![value],
            });
        }
    }
    build(&Given(given))
}

fn split(value: &OsString) -> Option<Vec<OsString>> {
    Some(value.to_str()?.split(',').map(OsString::from).collect())
}

/// The values each flag got, in [`FLAGS`] order: every use, the last one counting for a flag
/// that takes one value.
struct Given(Vec<Option<Vec<OsString>>>);

impl Given {
    fn values(&self, id: &str) -> &[OsString] {
        FLAGS
            .iter()
            .position(|f| f.id == id)
            .and_then(|index| self.0[index].as_deref())
            .unwrap_or_default()
    }

    /// Every value as clap's parser for the flag reads it; `None` when one is refused (clap
    /// says why).
    fn parsed<T>(&self, id: &str, parse: impl Fn(&OsString) -> Option<T>) -> Option<Vec<T>> {
        self.values(id).iter().map(parse).collect()
    }

    /// The last value, as [`Self::parsed`].
    fn last<T>(&self, id: &str, parse: impl Fn(&OsString) -> Option<T>) -> Option<Option<T>> {
        Some(self.parsed(id, parse)?.pop())
    }

    fn path(&self, id: &str) -> Option<Option<PathBuf>> {
        self.last(id, path)
    }

    fn paths(&self, id: &str) -> Option<Vec<PathBuf>> {
        self.parsed(id, path)
    }

    fn text(&self, id: &str) -> Option<Option<String>> {
        self.last(id, text)
    }

    fn texts(&self, id: &str) -> Option<Vec<String>> {
        self.parsed(id, text)
    }

    /// False when not given (the flags' default).
    fn boolean(&self, id: &str) -> Option<bool> {
        let boolean = |v: &OsString| go_flags::parse_bool(v.to_str()?).ok();
        Some(self.last(id, boolean)?.unwrap_or(false))
    }
}

/// clap's reading of a path: any bytes, but not none.
fn path(value: &OsString) -> Option<PathBuf> {
    (!value.is_empty()).then(|| PathBuf::from(value))
}

/// clap's reading of text: UTF-8.
fn text(value: &OsString) -> Option<String> {
    value.to_str().map(str::to_owned)
}

fn build(given: &Given) -> Option<Cli> {
    let scope = given.last("scope", |v| v.to_str()?.parse().ok())?;
    let request_timeout = given
        .last("request_timeout", |v| {
            go_flags::parse_kubectl_timeout(v.to_str()?).ok()
        })?
        .unwrap_or(Duration::ZERO);
    let kube = KubeArgs {
        kubeconfig: given.path("kubeconfig")?,
        context: given.text("context")?,
        cluster: given.text("cluster")?,
        user: given.text("user")?,
        server: given.text("server")?,
        token: given.text("token")?,
        as_user: given.text("as_user")?,
        as_group: given.texts("as_group")?,
        as_uid: given.text("as_uid")?,
        certificate_authority: given.path("certificate_authority")?,
        client_certificate: given.path("client_certificate")?,
        client_key: given.path("client_key")?,
        insecure_skip_tls_verify: given.boolean("insecure_skip_tls_verify")?,
        proxy_url: given.text("proxy_url")?,
        disable_compression: given.boolean("disable_compression")?,
        tls_server_name: given.text("tls_server_name")?,
        request_timeout,
        username: given.text("username")?,
        password: given.text("password")?,
    };
    Some(Cli {
        command: None,
        secret_file: given.path("secret_file")?,
        sealed_secret_file: given.path("sealed_secret_file")?,
        format: given.text("format")?,
        scope,
        name: given.text("name")?,
        allow_empty_data: given.boolean("allow_empty_data")?,
        raw: given.boolean("raw")?,
        from_file: given.texts("from_file")?,
        merge_into: given.path("merge_into")?,
        no_sealed_with: given.boolean("no_sealed_with")?,
        escrow_recipient: given.texts("escrow_recipient")?,
        no_escrow: given.boolean("no_escrow")?,
        certs: given.texts("certs")?,
        fetch_cert: given.boolean("fetch_cert")?,
        allow_expired_cert: given.boolean("allow_expired_cert")?,
        controller_name: given
            .text("controller_name")?
            .unwrap_or_else(|| DEFAULT_CONTROLLER_NAME.to_owned()),
        controller_namespace: given
            .text("controller_namespace")?
            .unwrap_or_else(|| DEFAULT_CONTROLLER_NAMESPACE.to_owned()),
        controller_url: given.text("controller_url")?,
        validate: given.boolean("validate")?,
        re_encrypt: given.boolean("re_encrypt")?,
        recovery_unseal: given.boolean("recovery_unseal")?,
        recovery_private_key: given.paths("recovery_private_key")?,
        keyring: given.paths("keyring")?,
        identity: given.paths("identity")?,
        passphrase: given.boolean("passphrase")?,
        passphrase_file: given.path("passphrase_file")?,
        namespace: given.text("namespace")?,
        kube,
        version: given.boolean("version")?,
        verbosity: given.text("verbosity")?,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::{CommandFactory, FromArgMatches};
    use proptest::prelude::*;

    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    /// A reading as text to compare: `Debug`, plus the credentials it hides.
    fn shown(cli: &Cli) -> String {
        format!("{cli:?} {:?} {:?}", cli.kube.token, cli.kube.password)
    }

    /// clap's reading of `args`, with each flag's environment variable given as `--flag=value`
    /// after them (which is what clap does with a variable when the flag is absent), as
    /// [`shown`].
    fn clap_reads(args: &[String], env: &BTreeMap<&'static str, String>) -> Result<String, String> {
        let mut command = Cli::command();
        let with_env: Vec<clap::Id> = command
            .get_arguments()
            .filter(|arg| arg.get_env().is_some())
            .map(|arg| arg.get_id().clone())
            .collect();
        for id in with_env {
            command = command.mut_arg(id, |arg| arg.env(None));
        }
        let mut argv = vec!["kubeseal".to_owned()];
        argv.extend(args.iter().cloned());
        for flag in FLAGS {
            let given = |a: &String| {
                a.strip_prefix("--")
                    .is_some_and(|a| a.split('=').next() == Some(flag.long))
                    || flag.short.is_some_and(|c| *a == format!("-{c}"))
            };
            if let Some(value) = flag.env.and_then(|name| env.get(name))
                && !value.is_empty()
                && !args.iter().any(given)
            {
                argv.push(format!("--{}={value}", flag.long));
            }
        }
        let mut matches = command
            .try_get_matches_from(argv)
            .map_err(|e| e.to_string())?;
        Cli::from_arg_matches_mut(&mut matches)
            .map(|cli| shown(&cli))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_table_is_the_clap_definition() {
        let mut command = Cli::command();
        command.build();
        let arguments: Vec<&clap::Arg> = command
            .get_arguments()
            .filter(|arg| arg.get_id() != "help")
            .collect();
        assert_eq!(arguments.len(), FLAGS.len());
        for arg in arguments {
            let flag = FLAGS
                .iter()
                .find(|f| arg.get_id() == f.id)
                .unwrap_or_else(|| panic!("{} is not in the table", arg.get_id()));
            assert_eq!(arg.get_long(), Some(flag.long), "{}", flag.id);
            assert_eq!(arg.get_short(), flag.short, "{}", flag.id);
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                flag.env,
                "{}",
                flag.id
            );
            let bool_like = arg.is_require_equals_set()
                && arg.get_num_args() == Some((0..=1).into())
                && arg.get_default_values() == ["false"];
            let kind = match (arg.get_action(), arg.get_value_delimiter()) {
                (_, Some(',')) => Kind::List,
                (clap::ArgAction::Append, None) => Kind::Append,
                (clap::ArgAction::SetTrue, None) if bool_like => Kind::Bool,
                (clap::ArgAction::Set, None) => Kind::Value,
                other => panic!("{}: {other:?}", flag.id),
            };
            assert_eq!(kind, flag.kind, "{}", flag.id);
        }
    }

    #[test]
    fn usual_sealing_command_lines_are_read_here_as_clap_reads_them() {
        let env = BTreeMap::from([("SEALED_SECRETS_CONTROLLER_NAMESPACE", "ops".to_owned())]);
        for args in [
            &[][..],
            &["--cert", "keys/tls.crt"],
            &[
                "--cert=a.crt",
                "-f",
                "secret.yaml",
                "-w",
                "sealed.json",
                "-o",
                "json",
            ],
            &[
                "--raw",
                "--scope",
                "cluster-wide",
                "--from-file=k=v.txt,w.txt",
                "-n",
                "ns",
            ],
            &[
                "--recovery-unseal",
                "--recovery-private-key",
                "a.key,b.key",
                "-i",
                "id",
            ],
            &[
                "--validate=false",
                "--re-encrypt=1",
                "--request-timeout",
                "2m",
                "-s",
                "https://h",
            ],
        ] {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            let ours = parse(
                &os(&args.iter().map(String::as_str).collect::<Vec<_>>()),
                |name| env.get(name).map(OsString::from),
            )
            .unwrap_or_else(|| panic!("{args:?} left to clap"));
            assert_eq!(Ok(shown(&ours)), clap_reads(&args, &env), "{args:?}");
        }
    }

    #[test]
    fn anything_else_is_left_to_clap() {
        for args in [
            &["--help"][..],
            &["-h"],
            &["keys", "list"],
            &["lint"],
            &["--", "-f"],
            &["-fsecret.yaml"],
            &["-f=secret.yaml"],
            &["-f", "-"],
            &["--cert", "--raw"],
            &["--cert"],
            &["--nope"],
            &["--raw", "false"],
            &["--raw=maybe"],
            &["--scope=everywhere"],
            &["--request-timeout=soon"],
            &["positional"],
            &["-"],
        ] {
            assert!(parse(&os(args), no_env).is_none(), "{args:?}");
        }
        let bad_env = |name: &str| (name == "SEALED_SECRETS_RAW").then(|| OsString::from("yes"));
        assert!(parse(&[], bad_env).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_path_may_be_any_bytes_and_text_is_left_to_clap_unless_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let not_utf8 = OsString::from_vec(vec![0xff, b'x']);
        let cli = parse(&[OsString::from("-f"), not_utf8.clone()], no_env).unwrap();
        assert_eq!(cli.secret_file, Some(PathBuf::from(&not_utf8)));
        assert!(parse(&[OsString::from("--name"), not_utf8], no_env).is_none());
    }

    #[test]
    fn an_empty_path_is_left_to_clap_even_when_given_again_after() {
        // clap checks every use, so a later good value does not save an earlier empty one.
        for args in [
            &["--client-certificate=", "--client-certificate=a"][..],
            &["--recovery-private-key=a,"],
            &["-f", ""],
        ] {
            assert!(parse(&os(args), no_env).is_none(), "{args:?}");
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            assert!(clap_reads(&args, &BTreeMap::new()).is_err(), "{args:?}");
        }
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let env = |name: &str| (name == "SEALED_SECRETS_CONTROLLER_NAME").then(OsString::new);
        let cli = parse(&[], env).unwrap();
        assert_eq!(cli.controller_name, "sealed-secrets-controller");
    }

    /// Values for each flag, nearly all of which its parser accepts.
    fn values_for(flag: &Flag) -> Vec<&'static str> {
        match (flag.kind, flag.id) {
            (Kind::Bool, _) => vec!["true", "false", "1", "0", "t", "F", "TRUE"],
            (_, "scope") => vec!["strict", "namespace-wide", "cluster-wide"],
            (_, "request_timeout") => vec!["0", "5", "1s", "2m30s"],
            _ => vec!["a", "b,c", "", "x/y.yaml", "http://h:8080/p", "k=v", ","],
        }
    }

    /// One use of a flag on the command line, in one of the forms read here.
    fn use_of(flag: &Flag, form: usize, pick: usize) -> Vec<String> {
        let values = values_for(flag);
        let value = values[pick % values.len()];
        match (flag.kind, form % 3, flag.short) {
            (Kind::Bool, 0, _) => vec![format!("--{}", flag.long)],
            (Kind::Bool, _, _) => vec![format!("--{}={value}", flag.long)],
            (_, 0, _) => vec![format!("--{}={value}", flag.long)],
            (_, 1, Some(c)) => vec![format!("-{c}"), value.to_owned()],
            _ => vec![format!("--{}", flag.long), value.to_owned()],
        }
    }

    proptest! {
        #[test]
        fn every_command_line_read_here_is_read_as_clap_reads_it(
            uses in proptest::collection::vec((0..FLAGS.len(), 0usize..3, 0usize..8), 0..8),
            vars in proptest::collection::vec((0..FLAGS.len(), 0usize..9), 0..6),
        ) {
            let args: Vec<String> = uses
                .iter()
                .flat_map(|&(index, form, pick)| use_of(&FLAGS[index], form, pick))
                .collect();
            let mut env = BTreeMap::new();
            for (index, pick) in vars {
                let flag = &FLAGS[index];
                if let Some(name) = flag.env {
                    let values = values_for(flag);
                    // One pick in nine: set but empty.
                    let value = values.get(pick).map_or("", |v| *v);
                    env.insert(name, value.to_owned());
                }
            }
            let ours = parse(&os(&args.iter().map(String::as_str).collect::<Vec<_>>()), |name| {
                env.get(name).map(OsString::from)
            });
            // Only what clap refuses (here: an empty path) is left to it.
            match ours {
                Some(cli) => prop_assert_eq!(Ok(shown(&cli)), clap_reads(&args, &env), "{:?} {:?}", args, env),
                None => prop_assert!(clap_reads(&args, &env).is_err(), "{:?} {:?} left to clap", args, env),
            }
        }
    }
}
