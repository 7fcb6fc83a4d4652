//! Command-line flags, with upstream's names and defaults and `SEALED_SECRETS_<FLAG>`
//! environment variables (the command line wins).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

use clap::{ArgAction, Parser};
use seal::go_flags;

use crate::key_set::KeyOrder;
use crate::ratelimit::Cidr;

/// `sealed-secrets-controller` flags.
#[derive(Debug, Clone, Parser)]
#[command(name = "sealed-secrets-controller", disable_version_flag = true)]
#[allow(clippy::struct_excessive_bools)]
pub struct Flags {
    /// Prefix used to name keys (generateName), and the name of the legacy key Secret.
    #[arg(long, env = "SEALED_SECRETS_KEY_PREFIX", default_value = "sealed-secrets-key", value_parser = parse_key_prefix)]
    pub key_prefix: String,
    /// Size of new RSA keys, in bits.
    #[arg(long, env = "SEALED_SECRETS_KEY_SIZE", default_value_t = seal::keys::DEFAULT_KEY_BITS)]
    pub key_size: usize,
    /// Validity of new certificates (Go duration, e.g. 87600h).
    #[arg(long, env = "SEALED_SECRETS_KEY_TTL", default_value = "87600h", value_parser = go_flags::parse_duration)]
    pub key_ttl: Duration,
    /// Common name of new certificates.
    #[arg(long, env = "SEALED_SECRETS_MY_CN", default_value = "")]
    pub my_cn: String,
    /// New key generation period; 0 disables automatic renewal.
    #[arg(long, alias = "rotate-period", env = "SEALED_SECRETS_KEY_RENEW_PERIOD", default_value = "720h", value_parser = go_flags::parse_duration)]
    pub key_renew_period: Duration,
    /// Which time orders keys: CertNotBefore or SecretCreationTimestamp.
    #[arg(
        long,
        env = "SEALED_SECRETS_KEY_ORDER_PRIORITY",
        default_value = "CertNotBefore"
    )]
    pub key_order_priority: KeyOrder,
    /// Create a new key at startup if the newest is older than this time (RFC 1123Z, `date -R`).
    #[arg(long, env = "SEALED_SECRETS_KEY_CUTOFF_TIME", value_parser = parse_rfc1123z)]
    pub key_cutoff_time: Option<SystemTime>,
    /// Accept the deprecated v1 `spec.data` format.
    #[arg(long, env = "SEALED_SECRETS_ACCEPT_DEPRECATED_V1_DATA", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = go_flags::parse_bool)]
    pub accept_deprecated_v1_data: bool,
    /// Watch SealedSecrets in all namespaces (false: only the controller's).
    #[arg(long, env = "SEALED_SECRETS_ALL_NAMESPACES", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = go_flags::parse_bool)]
    pub all_namespaces: bool,
    /// Comma-separated namespaces to watch besides the controller's.
    #[arg(
        long,
        env = "SEALED_SECRETS_ADDITIONAL_NAMESPACES",
        value_delimiter = ','
    )]
    pub additional_namespaces: Vec<String>,
    /// Only SealedSecrets matching this label selector (their Secrets whatever their labels).
    #[arg(long, env = "SEALED_SECRETS_LABEL_SELECTOR", default_value = "")]
    pub label_selector: String,
    /// Requests per second per client for /v1/verify and /v1/rotate.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT", default_value = "2")]
    pub rate_limit: NonZeroU32,
    /// Burst for /v1/verify and /v1/rotate.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT_BURST", default_value = "2")]
    pub rate_limit_burst: NonZeroU32,
    /// Comma-separated address blocks (CIDR) of proxies whose X-Forwarded-For names the client
    /// for rate limiting; by default none, and the client is the TCP peer.
    #[arg(long, env = "SEALED_SECRETS_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<Cidr>,
    /// Most encryptedData items in one /v1/verify or /v1/rotate request.
    #[arg(long, env = "SEALED_SECRETS_MAX_REQUEST_ITEMS", default_value_t = 256)]
    pub max_request_items: usize,
    /// /v1/verify and /v1/rotate requests doing RSA work at once; others wait.
    #[arg(long, env = "SEALED_SECRETS_MAX_CONCURRENT_UNSEAL_REQUESTS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_unseal_requests: u16,
    /// Connections served at once on each listener; further clients wait.
    #[arg(long, env = "SEALED_SECRETS_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,
    /// Time a client has to send a request's headers, from connecting or from the previous
    /// response (so also how long an idle connection stays open).
    #[arg(long, env = "SEALED_SECRETS_READ_HEADER_TIMEOUT", default_value = "10s", value_parser = go_flags::parse_positive_duration)]
    pub read_header_timeout: Duration,
    /// Comma-separated k=v annotations for new key Secrets.
    #[arg(long, env = "SEALED_SECRETS_PRIVATEKEY_ANNOTATIONS", default_value = "", value_parser = parse_key_values)]
    pub privatekey_annotations: KeyValues,
    /// Comma-separated k=v labels for new key Secrets.
    #[arg(long, env = "SEALED_SECRETS_PRIVATEKEY_LABELS", default_value = "", value_parser = parse_key_values)]
    pub privatekey_labels: KeyValues,
    /// Delete the Secret when its SealedSecret is deleted, instead of relying on garbage collection.
    #[arg(long, env = "SEALED_SECRETS_OLD_GC_BEHAVIOR", default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = go_flags::parse_bool)]
    pub old_gc_behavior: bool,
    /// Write the status subresource.
    #[arg(long, env = "SEALED_SECRETS_UPDATE_STATUS", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = go_flags::parse_bool)]
    pub update_status: bool,
    /// Accepted for compatibility: key Secrets are always watched.
    #[arg(long, env = "SEALED_SECRETS_WATCH_FOR_SECRETS", default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = go_flags::parse_bool)]
    pub watch_for_secrets: bool,
    /// Do not watch Secrets: deleted Secrets are not re-created.
    #[arg(long, env = "SEALED_SECRETS_SKIP_RECREATE", default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = go_flags::parse_bool)]
    pub skip_recreate: bool,
    /// Log INFO to stdout and WARN/ERROR to stderr.
    #[arg(long, env = "SEALED_SECRETS_LOG_INFO_STDOUT", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = go_flags::parse_bool)]
    pub log_info_stdout: bool,
    /// Log level: DEBUG, INFO, WARN or ERROR.
    #[arg(long, env = "SEALED_SECRETS_LOG_LEVEL", default_value = "INFO")]
    pub log_level: String,
    /// Log format: text or json.
    #[arg(long, env = "SEALED_SECRETS_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Accepted for compatibility: permanent failures are retried when something changes, other
    /// failures with backoff.
    #[arg(long, env = "SEALED_SECRETS_MAX_UNSEAL_RETRIES", default_value_t = 5)]
    pub max_unseal_retries: u32,
    /// Accepted for compatibility: the client is not throttled.
    #[arg(long, env = "SEALED_SECRETS_KUBECLIENT_QPS", default_value_t = 5.0)]
    pub kubeclient_qps: f32,
    /// Accepted for compatibility: the client is not throttled.
    #[arg(long, env = "SEALED_SECRETS_KUBECLIENT_BURST", default_value_t = 10)]
    pub kubeclient_burst: u32,
    /// HTTP API address.
    #[arg(long, env = "SEALED_SECRETS_LISTEN_ADDR", default_value = ":8080", value_parser = parse_listen_addr)]
    pub listen_addr: SocketAddr,
    /// Metrics address.
    #[arg(long, env = "SEALED_SECRETS_LISTEN_METRICS_ADDR", default_value = ":8081", value_parser = parse_listen_addr)]
    pub listen_metrics_addr: SocketAddr,
    /// HTTP read timeout.
    #[arg(long, env = "SEALED_SECRETS_READ_TIMEOUT", default_value = "2m", value_parser = go_flags::parse_duration)]
    pub read_timeout: Duration,
    /// HTTP write timeout.
    #[arg(long, env = "SEALED_SECRETS_WRITE_TIMEOUT", default_value = "2m", value_parser = go_flags::parse_duration)]
    pub write_timeout: Duration,
    /// Elect a leader through a Lease so that several replicas are safe.
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = go_flags::parse_bool)]
    pub leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "SEALED_SECRETS_LEADER_ELECT_LEASE_NAME",
        default_value = "sealed-secrets-controller"
    )]
    pub leader_elect_lease_name: String,
    /// Lease duration.
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT_LEASE_DURATION", default_value = "15s", value_parser = go_flags::parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// SealedSecrets reconciled at once.
    #[arg(long, env = "SEALED_SECRETS_WORKERS", default_value_t = 8)]
    pub workers: u16,
    /// Slow periodic resync of every SealedSecret (retries permanent failures); 0 disables.
    #[arg(long, env = "SEALED_SECRETS_RESYNC_PERIOD", default_value = "1h", value_parser = go_flags::parse_duration)]
    pub resync_period: Duration,
    /// Wall-clock time allowed for rendering all `template.data` items of one SealedSecret
    /// (Go duration); past it the object fails with a status naming the limit.
    #[arg(long, env = "SEALED_SECRETS_TEMPLATE_DEADLINE", default_value = "100ms", value_parser = go_flags::parse_positive_duration)]
    pub template_deadline: Duration,
    /// Print version information and exit.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false, value_parser = go_flags::parse_bool)]
    pub version: bool,
}

/// `k=v` pairs from a comma-separated flag.
pub type KeyValues = BTreeMap<String, String>;

/// The key prefix is the `generateName` of key Secrets and the name of the legacy one: the API
/// server rejects a name that starts with `-`, so such a prefix could never make a key.
fn parse_key_prefix(s: &str) -> Result<String, String> {
    let valid = s.len() <= 245
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(s.to_owned())
    } else {
        Err(
            "must be 1 to 245 characters of a-z, 0-9 and '-', starting with a letter or digit"
                .into(),
        )
    }
}

/// Parses `k=v,k2=v2`; an entry without `=` is an error (upstream panics on it).
pub fn parse_key_values(s: &str) -> Result<KeyValues, String> {
    let mut out = KeyValues::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (k, v) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry:?} is not of the form key=value"))?;
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("{entry:?} has an empty key"));
        }
        if k == seal::SEALING_KEY_LABEL {
            return Err(format!(
                "{k} is set by the controller and cannot be overridden"
            ));
        }
        out.insert(k.to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_owned()
    };
    full.parse()
        .map_err(|_| format!("{s:?} is not an address like :8080 or 127.0.0.1:8080"))
}

/// Parses RFC 1123 with a numeric zone, as `date -R` prints: `Mon, 02 Jan 2006 15:04:05 -0700`.
pub fn parse_rfc1123z(s: &str) -> Result<SystemTime, String> {
    let bad = || format!("{s:?} is not a time like \"Mon, 02 Jan 2006 15:04:05 -0700\" (date -R)");
    let zoned = jiff::fmt::rfc2822::parse(s).map_err(|_| bad())?;
    Ok(SystemTime::from(zoned.timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_upstream_except_key_size() {
        let flags = Flags::try_parse_from(["controller"]).unwrap();
        assert_eq!(flags.key_prefix, "sealed-secrets-key");
        assert_eq!(flags.key_size, 2048);
        assert_eq!(flags.key_renew_period, Duration::from_secs(720 * 3600));
        assert_eq!(flags.key_ttl, Duration::from_secs(87_600 * 3600));
        assert!(flags.update_status && flags.all_namespaces && flags.accept_deprecated_v1_data);
        assert!(!flags.skip_recreate && !flags.old_gc_behavior);
        assert_eq!(flags.listen_addr.port(), 8080);
        assert_eq!(flags.listen_metrics_addr.port(), 8081);
        assert_eq!(flags.key_order_priority, KeyOrder::CertNotBefore);
        assert_eq!(flags.template_deadline, gotemplate::DEFAULT_DEADLINE);
    }

    /// Fuzz finding 2: 64 MiB of template memory per object times 8 workers exceeded the
    /// Deployment's memory limit, so a few hostile objects could get the pod killed.
    #[test]
    fn template_memory_of_every_worker_leaves_room_in_the_deployment_memory_limit() {
        let flags = Flags::try_parse_from(["controller"]).unwrap();
        let deployment = include_str!("../../../deploy/deployment.yaml");
        let limit_mib: usize = deployment
            .split("limits:")
            .nth(1)
            .and_then(|limits| limits.split("memory:").nth(1))
            .and_then(|memory| memory.trim_start().split("Mi").next())
            .and_then(|mib| mib.parse().ok())
            .expect("deploy/deployment.yaml has a memory limit in Mi");
        let limits = gotemplate::Limits::default();
        let per_worker = limits.max_memory + limits.max_output;
        assert!(
            // The caches of a 10,000-object cluster take well under this.
            usize::from(flags.workers) * per_worker + (64 << 20) <= limit_mib << 20,
            "{} workers x {per_worker} bytes against a {limit_mib}Mi limit",
            flags.workers
        );
    }

    #[test]
    fn template_deadline_from_flag_or_environment() {
        let flags = Flags::try_parse_from(["controller", "--template-deadline", "250ms"]).unwrap();
        assert_eq!(flags.template_deadline, Duration::from_millis(250));
        assert!(Flags::try_parse_from(["controller", "--template-deadline", "0"]).is_err());
        assert!(Flags::try_parse_from(["controller", "--template-deadline", "soon"]).is_err());
    }

    #[test]
    fn go_style_booleans_and_aliases() {
        let flags = Flags::try_parse_from([
            "controller",
            "--update-status=false",
            "--skip-recreate",
            "--rotate-period",
            "0",
            "--key-order-priority",
            "SecretCreationTimestamp",
        ])
        .unwrap();
        assert!(!flags.update_status);
        assert!(flags.skip_recreate);
        assert_eq!(flags.key_renew_period, Duration::ZERO);
        assert_eq!(flags.key_order_priority, KeyOrder::SecretCreationTimestamp);
    }

    /// clap's own boolean took only `true`/`false`; upstream's pflag takes every
    /// `strconv.ParseBool` spelling, so manifests written for upstream say `=1` or `=False`.
    #[test]
    fn update_status_accepts_1_like_pflag() {
        for (value, expected) in [
            ("1", true),
            ("t", true),
            ("True", true),
            ("0", false),
            ("F", false),
            ("FALSE", false),
        ] {
            let flags =
                Flags::try_parse_from(["controller", &format!("--update-status={value}")]).unwrap();
            assert_eq!(flags.update_status, expected, "{value}");
        }
        assert!(Flags::try_parse_from(["controller", "--update-status=yes"]).is_err());
    }

    /// Upstream's durations are Go's: a sign, fractions and every unit, refused past 2^63 ns.
    #[test]
    fn durations_are_gos() {
        let flags = Flags::try_parse_from([
            "controller",
            "--key-renew-period=+1.5h",
            "--resync-period=90s",
            "--leader-elect-lease-duration=1m0.5s",
        ])
        .unwrap();
        assert_eq!(flags.key_renew_period, Duration::from_secs(5400));
        assert_eq!(flags.resync_period, Duration::from_secs(90));
        assert_eq!(
            flags.leader_elect_lease_duration,
            Duration::from_millis(60_500)
        );
        for args in [
            ["controller", "--key-ttl=3000000h"],
            ["controller", "--key-ttl=-1h"],
            ["controller", "--key-ttl=10"],
        ] {
            assert!(Flags::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn key_values_reject_what_upstream_panics_on() {
        assert_eq!(
            parse_key_values("a=1, b=2").unwrap(),
            KeyValues::from([("a".into(), "1".into()), ("b".into(), "2".into())])
        );
        assert!(
            parse_key_values("novalue")
                .unwrap_err()
                .contains("key=value")
        );
        assert!(parse_key_values("=x").is_err());
        assert!(parse_key_values("sealedsecrets.bitnami.com/sealed-secrets-key=no").is_err());
        assert!(parse_key_values("").unwrap().is_empty());
    }

    #[test]
    fn cutoff_time_is_rfc1123z() {
        let t = parse_rfc1123z("Mon, 02 Jan 2006 15:04:05 -0700").unwrap();
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 1_136_239_445);
        assert!(parse_rfc1123z("yesterday").is_err());
    }

    #[test]
    fn security_limits_have_defaults_flags_and_environment_variables() {
        let flags = Flags::try_parse_from(["controller"]).unwrap();
        assert!(flags.trusted_proxies.is_empty());
        assert_eq!(flags.max_request_items, 256);
        assert_eq!(flags.max_concurrent_unseal_requests, 1);
        assert_eq!(flags.max_connections, 512);
        assert_eq!(flags.read_header_timeout, Duration::from_secs(10));
        let flags = Flags::try_parse_from([
            "controller",
            "--trusted-proxies=10.0.0.0/8,fd00::/8",
            "--read-header-timeout=3s",
        ])
        .unwrap();
        assert_eq!(flags.trusted_proxies.len(), 2);
        assert_eq!(flags.read_header_timeout, Duration::from_secs(3));
        for args in [
            ["controller", "--trusted-proxies", "10.0.0.0/33"],
            ["controller", "--max-connections", "0"],
            ["controller", "--read-header-timeout", "0"],
            ["controller", "--max-concurrent-unseal-requests", "0"],
        ] {
            assert!(Flags::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for args in [
            ["controller", "--key-prefix", "Bad_Prefix"],
            ["controller", "--privatekey-labels", "oops"],
            ["controller", "--key-ttl", "ten years"],
            ["controller", "--listen-addr", "nowhere"],
        ] {
            assert!(Flags::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    /// The real API server rejects key Secrets whose `generateName` starts with `-`: the
    /// controller used to accept such a prefix and then retry the key forever.
    #[test]
    fn regression_key_prefix_starting_with_a_dash_is_refused() {
        assert!(Flags::try_parse_from(["controller", "--key-prefix=-keys"]).is_err());
        let flags = Flags::try_parse_from(["controller", "--key-prefix=keys-"]).unwrap();
        assert_eq!(flags.key_prefix, "keys-");
    }
}
