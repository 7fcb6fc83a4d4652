//! The command line: every upstream `kubeseal` flag with its `SEALED_SECRETS_<FLAG>`
//! environment variable, upstream's defaults, and the few additions, grouped for `--help`.

use std::path::PathBuf;

use clap::Parser;
use clap_complete::Shell;
use seal::Scope;
use seal::go_flags;

use crate::kubeconfig::KubeArgs;

impl Cli {
    /// The one `--cert` of the modes that seal for one cluster (the last, as pflag keeps it).
    #[must_use]
    pub fn cert(&self) -> Option<&str> {
        self.certs.last().map(String::as_str)
    }
}

/// `--controller-name`'s default, upstream's.
pub const DEFAULT_CONTROLLER_NAME: &str = "sealed-secrets-controller";
/// `--controller-namespace`'s default, upstream's.
pub const DEFAULT_CONTROLLER_NAMESPACE: &str = "kube-system";

const IO: &str = "Input and output";
const SEALING: &str = "Sealing";
const CERT: &str = "Certificate and controller";
const MODES: &str = "Other modes";
const RECOVERY: &str = "Offline recovery and checks";
const KUBE: &str = "Kubernetes connection (as kubectl)";

const ABOUT: &str = "Seal Kubernetes Secrets into SealedSecrets that only the cluster's \
sealed-secrets controller can open: a drop-in replacement for upstream kubeseal.";

const AFTER_HELP: &str = "\
Examples:
  kubeseal --cert keys/tls.crt < secret.yaml > sealed.yaml
  kubeseal -f secret.yaml -w sealed.yaml                     # certificate from the cluster
  kubeseal --controller-url http://localhost:8080 < secret.yaml
  printf '%s' \"$VALUE\" | kubeseal --raw --cert keys/tls.crt -n myns --name mysecret
  kubeseal --cert keys/tls.crt --merge-into sealed.yaml < extra-secret.yaml
  kubeseal --recovery-unseal --recovery-private-key keys/ < sealed.yaml
  kubeseal --validate --keyring keys/ -f sealed.yaml
  kubeseal --recovery-unseal --recovery-private-key backup.age --passphrase-file pass < sealed.yaml
  kubeseal --re-encrypt --recovery-private-key old.key --cert new.crt -f sealed.yaml
  kubeseal --cert keys/tls.crt --escrow-recipient escrow.txt < secret.yaml > sealed.yaml
  kubeseal --recovery-unseal -i escrow-identity.txt < sealed.yaml   # no cluster key needed
  kubeseal keys list                                         # sealing keys in the cluster
  kubeseal reencrypt --keyring keys/ manifests/              # re-seal files with the newest key

Every flag can also be set with an environment variable SEALED_SECRETS_<FLAG>, e.g.
SEALED_SECRETS_CERT or SEALED_SECRETS_CONTROLLER_NAMESPACE; the command line wins.";

/// `kubeseal`: seal Secrets, or run one of the other modes chosen by flags.
#[derive(Debug, Parser)]
#[command(
    name = "kubeseal",
    about = ABOUT,
    after_help = AFTER_HELP,
    version = env!("CARGO_PKG_VERSION"),
    disable_version_flag = true,
    max_term_width = 100,
    // As pflag: a flag given again replaces its value (wrappers append overrides to defaults).
    args_override_self = true
)]
#[allow(clippy::struct_excessive_bools)]
pub struct Cli {
    /// Extra commands (the bare form seals).
    #[command(subcommand)]
    pub command: Option<Command>,

    // ---- input and output
    /// Secret (input) file; standard input when absent.
    #[arg(short = 'f', long = "secret-file", env = "SEALED_SECRETS_SECRET_FILE", value_name = "FILE", help_heading = IO)]
    pub secret_file: Option<PathBuf>,
    /// Sealed-secret (output) file, written atomically and only if the whole run succeeds.
    #[arg(short = 'w', long = "sealed-secret-file", env = "SEALED_SECRETS_SEALED_SECRET_FILE", value_name = "FILE", help_heading = IO)]
    pub sealed_secret_file: Option<PathBuf>,
    /// Output format: json or yaml. Default: yaml for a .yaml/.yml -w file, json for .json,
    /// otherwise the input's format (upstream always defaults to json).
    #[arg(short = 'o', long = "format", env = "SEALED_SECRETS_FORMAT", value_name = "FORMAT", help_heading = IO)]
    pub format: Option<String>,

    // ---- sealing
    /// Scope of the sealed secret: strict, namespace-wide, cluster-wide (default strict).
    /// Mandatory for --raw; otherwise the sealedsecrets.bitnami.com/cluster-wide and
    /// namespace-wide annotations on the input Secret can select the scope.
    #[arg(long, env = "SEALED_SECRETS_SCOPE", value_name = "SCOPE", help_heading = SEALING)]
    pub scope: Option<Scope>,
    /// Name of the sealed secret (required with --raw and strict scope; overrides the input's).
    #[arg(long, env = "SEALED_SECRETS_NAME", value_name = "NAME", help_heading = SEALING)]
    pub name: Option<String>,
    /// Allow a Secret with no data.
    #[arg(long, env = "SEALED_SECRETS_ALLOW_EMPTY_DATA", help_heading = SEALING, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub allow_empty_data: bool,
    /// Encrypt one raw value (from --from-file or stdin) instead of a whole Secret; prints base64.
    #[arg(long, env = "SEALED_SECRETS_RAW", help_heading = SEALING, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub raw: bool,
    /// (only with --raw) File holding the value, [key=]path as kubectl; /dev/stdin reads a pipe.
    #[arg(long = "from-file", env = "SEALED_SECRETS_FROM_FILE", value_name = "[KEY=]PATH", value_delimiter = ',', help_heading = SEALING)]
    pub from_file: Vec<String>,
    /// Seal the input and merge its items into this existing SealedSecret file, in place,
    /// keeping the file's format, name, namespace and scope.
    #[arg(long = "merge-into", env = "SEALED_SECRETS_MERGE_INTO", value_name = "FILE", help_heading = SEALING)]
    pub merge_into: Option<PathBuf>,
    /// Do not record the sealing key's fingerprint in the sealed-with annotation
    /// (sealed-secrets-rs/sealed-with), for byte-for-byte upstream output.
    #[arg(long = "no-sealed-with", env = "SEALED_SECRETS_NO_SEALED_WITH", help_heading = SEALING, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub no_sealed_with: bool,
    /// Also store an escrow copy of the values, encrypted with age to this recipient (age1…
    /// or an SSH public key, ssh-ed25519/ssh-rsa) or to every recipient in this file (one per
    /// line, # comments); repeatable or comma-separated. Default: escrowRecipients of the
    /// nearest .sealed-secrets.yaml from the current directory up. Not with --raw (a bare value
    /// has nowhere to keep one).
    #[arg(long = "escrow-recipient", env = "SEALED_SECRETS_ESCROW_RECIPIENTS", value_name = "RECIPIENT|FILE", value_delimiter = ',', help_heading = SEALING)]
    pub escrow_recipient: Vec<String>,
    /// Make no escrow copy, whatever the environment or the config file say.
    #[arg(long = "no-escrow", env = "SEALED_SECRETS_NO_ESCROW", help_heading = SEALING, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub no_escrow: bool,

    // ---- certificate and controller
    /// Certificate file or URL (http, https, file://) to seal with. Overrides --controller-*.
    /// Repeat as NAME=FILE|URL to seal the input once for each of several clusters: -w and
    /// --merge-into then take a path with {cluster} in it.
    #[arg(long = "cert", env = "SEALED_SECRETS_CERT", value_name = "[NAME=]FILE|URL", help_heading = CERT, action = clap::ArgAction::Append)]
    pub certs: Vec<String>,
    /// Write the certificate to stdout (or -w), for later use with --cert.
    #[arg(long = "fetch-cert", env = "SEALED_SECRETS_FETCH_CERT", help_heading = CERT, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub fetch_cert: bool,
    /// Seal with an expired certificate (upstream refuses it with no override).
    #[arg(long = "allow-expired-cert", env = "SEALED_SECRETS_ALLOW_EXPIRED_CERT", help_heading = CERT, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub allow_expired_cert: bool,
    /// Name of the sealed-secrets controller Service.
    #[arg(long = "controller-name", env = "SEALED_SECRETS_CONTROLLER_NAME", value_name = "NAME", default_value = DEFAULT_CONTROLLER_NAME, help_heading = CERT)]
    pub controller_name: String,
    /// Namespace of the sealed-secrets controller.
    #[arg(long = "controller-namespace", env = "SEALED_SECRETS_CONTROLLER_NAMESPACE", value_name = "NAMESPACE", default_value = DEFAULT_CONTROLLER_NAMESPACE, help_heading = CERT)]
    pub controller_namespace: String,
    /// Talk to the controller directly at this URL (e.g. a port-forward, http://localhost:8080)
    /// instead of through the API server's service proxy.
    #[arg(long = "controller-url", env = "SEALED_SECRETS_CONTROLLER_URL", value_name = "URL", help_heading = CERT)]
    pub controller_url: Option<String>,

    // ---- other modes
    /// Check that the sealed secret(s) can be decrypted: by the controller, or offline with
    /// --recovery-private-key or --keyring.
    #[arg(long, env = "SEALED_SECRETS_VALIDATE", help_heading = MODES, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub validate: bool,
    /// Re-encrypt the sealed secret(s) with the latest key: by the controller, or offline with
    /// --recovery-private-key or --keyring (old keys) and --cert (new certificate; default: the
    /// keyring's). With -f and no -w the file is rewritten in place.
    #[arg(long = "re-encrypt", visible_alias = "rotate", env = "SEALED_SECRETS_RE_ENCRYPT", help_heading = MODES, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub re_encrypt: bool,

    // ---- recovery
    /// Decrypt sealed secrets from the input with --recovery-private-key or --keyring, offline;
    /// or, with only -i IDENTITY, from their escrow copies, with no cluster key at all.
    /// For disaster recovery.
    #[arg(long = "recovery-unseal", env = "SEALED_SECRETS_RECOVERY_UNSEAL", help_heading = RECOVERY, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub recovery_unseal: bool,
    /// Private key files: PEM keys, key Secrets (JSON/YAML), v1 Lists of them (a controller key
    /// backup), age backup bundles (`kubeseal keys backup`), or directories of such files.
    /// Comma-separated or repeated.
    #[arg(long = "recovery-private-key", env = "SEALED_SECRETS_RECOVERY_PRIVATE_KEY", value_name = "FILE", value_delimiter = ',', help_heading = RECOVERY)]
    pub recovery_private_key: Vec<PathBuf>,
    /// Keyring directory to take private keys from (`kubeseal keys init` makes one; keys/ is
    /// one); its newest active certificate is offline --re-encrypt's default --cert.
    /// Comma-separated or repeated.
    #[arg(long, env = "SEALED_SECRETS_KEYRING", value_name = "DIR", value_delimiter = ',', help_heading = RECOVERY)]
    pub keyring: Vec<PathBuf>,
    /// age identity file or SSH private key that opens backup bundles, or (alone with
    /// --recovery-unseal) escrow copies; repeatable.
    #[arg(short = 'i', long = "identity", env = "SEALED_SECRETS_IDENTITY", value_name = "FILE", value_delimiter = ',', help_heading = RECOVERY)]
    pub identity: Vec<PathBuf>,
    /// Open passphrase-protected backup bundles: the passphrase is asked on the terminal
    /// unless --passphrase-file or $SEALED_SECRETS_BACKUP_PASSPHRASE supplies it.
    #[arg(long, help_heading = RECOVERY, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub passphrase: bool,
    /// Read the backup bundle's passphrase from the first line of FILE.
    #[arg(long = "passphrase-file", env = "SEALED_SECRETS_PASSPHRASE_FILE", value_name = "FILE", help_heading = RECOVERY)]
    pub passphrase_file: Option<PathBuf>,

    // ---- kubernetes connection
    /// Namespace of the Secret when the input has none (default: the kubeconfig context's).
    #[arg(short = 'n', long, env = "SEALED_SECRETS_NAMESPACE", value_name = "NAMESPACE", help_heading = KUBE)]
    pub namespace: Option<String>,
    /// How to reach the API server, as kubectl.
    #[command(flatten)]
    pub kube: KubeArgs,

    // ---- misc
    /// Print version information and exit.
    #[arg(long, env = "SEALED_SECRETS_VERSION", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub version: bool,
    /// Log verbosity (accepted for compatibility with upstream's klog flag; ignored).
    #[arg(short = 'v', long = "v", value_name = "LEVEL", hide = true)]
    pub verbosity: Option<String>,
}

/// Subcommands: additions that never change what the bare form does.
///
/// Written out rather than derived so that each one's arguments are built only when it runs
/// (`clap::Command::defer`): clap builds every argument of every subcommand before it parses,
/// and the `keys` commands alone have over a hundred, while the bare form, the one run in
/// loops and pipelines, needs none of them.
#[derive(Debug)]
pub enum Command {
    /// `kubeseal completion SHELL`.
    Completion(CompletionArgs),
    /// `kubeseal man`.
    Man,
    /// `kubeseal keys …`.
    Keys(Box<crate::keys::KeysCommand>),
    /// `kubeseal reencrypt PATH…`.
    Reencrypt(crate::keys::ReencryptArgs),
    /// `kubeseal lint [PATH…]`.
    Lint(crate::lint::args::LintArgs),
}

/// `kubeseal completion`.
#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell.
    pub shell: Shell,
}

const SUBCOMMANDS: [&str; 5] = ["completion", "man", "keys", "reencrypt", "lint"];

const KEYS: &str = "Back up, restore, list, rotate and retire sealing keys (in the cluster or a \
                    local keyring directory)";

fn keys_subcommands(keys: clap::Command) -> clap::Command {
    <crate::keys::KeysCommand as clap::Subcommand>::augment_subcommands(keys).about(KEYS)
}

impl clap::Subcommand for Command {
    // Each about is given twice: for the list in `kubeseal --help`, and again after the
    // deferred arguments, whose derive would otherwise put its own doc comment there.
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        use crate::keys::ReencryptArgs;
        use crate::lint::args::LintArgs;
        use clap::Args;
        const COMPLETION: &str =
            "Print a shell completion script (e.g. `source <(kubeseal completion bash)`)";
        const MAN: &str = "Print the kubeseal(1) man page (roff) to stdout";
        const REENCRYPT: &str = "Re-seal every SealedSecret file under the paths with the \
                                 current certificate, offline";
        const LINT: &str = "Check SealedSecret and Secret files offline: plaintext Secrets, \
                            broken SealedSecrets, duplicates, unknown or expired sealing \
                            certificates, values that do not open";
        cmd.subcommand(
            clap::Command::new("completion")
                .about(COMPLETION)
                .defer(|c| CompletionArgs::augment_args(c).about(COMPLETION)),
        )
        .subcommand(clap::Command::new("man").about(MAN))
        .subcommand(
            clap::Command::new("keys")
                .about(KEYS)
                .subcommand_required(true)
                .arg_required_else_help(true)
                .defer(keys_subcommands),
        )
        .subcommand(
            clap::Command::new("reencrypt")
                .about(REENCRYPT)
                .defer(|c| ReencryptArgs::augment_args(c).about(REENCRYPT)),
        )
        .subcommand(
            clap::Command::new("lint")
                .about(LINT)
                .defer(|c| LintArgs::augment_args(c).about(LINT)),
        )
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        SUBCOMMANDS.contains(&name)
    }
}

impl clap::FromArgMatches for Command {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }

    fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        let Some((name, mut sub)) = matches.remove_subcommand() else {
            return Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand));
        };
        Ok(match name.as_str() {
            "completion" => Self::Completion(CompletionArgs::from_arg_matches_mut(&mut sub)?),
            "man" => Self::Man,
            "keys" => Self::Keys(Box::new(crate::keys::KeysCommand::from_arg_matches_mut(
                &mut sub,
            )?)),
            "reencrypt" => {
                Self::Reencrypt(crate::keys::ReencryptArgs::from_arg_matches_mut(&mut sub)?)
            }
            "lint" => Self::Lint(crate::lint::args::LintArgs::from_arg_matches_mut(&mut sub)?),
            _ => return Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The command line, read as upstream reads it: a `SEALED_SECRETS_*` variable that is set but
/// empty counts as unset (CI systems export `VAR=${INPUT:-}`), where clap would take "".
#[must_use]
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    crate::plain_args::parse(&args, |name| std::env::var_os(name)).unwrap_or_else(parse_with_clap)
}

/// [`parse`] by clap: every command line, its errors and `--help`.
fn parse_with_clap() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let set_but_empty: Vec<clap::Id> = command
        .get_arguments()
        .filter(|arg| {
            arg.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|value| value.is_empty())
        })
        .map(|arg| arg.get_id().clone())
        .collect();
    for id in set_but_empty {
        command = command.mut_arg(id, |arg| arg.env(None));
    }
    let mut matches = command.get_matches_mut();
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// The clap command, for completions and the man page.
#[must_use]
pub fn command() -> clap::Command {
    // Built now, not deferred: clap copies the tree of `kubeseal help …` from the subcommands
    // as they are before their deferred parts are built, and completions describe that tree.
    <Cli as clap::CommandFactory>::command().mut_subcommands(|sub| match sub.get_name() {
        "keys" => keys_subcommands(sub.defer(|keys| keys)),
        _ => sub,
    })
}
