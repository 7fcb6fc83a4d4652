//! Sprig functions beyond the corpus: properties of the float, URL, version, date, random and
//! key-generating families, and the budget they draw on.

use std::collections::BTreeMap;
use std::time::Duration;

use gotemplate::{Budget, Limit, Limits, TemplateError};
use proptest::prelude::*;

fn untimed() -> Limits {
    Limits {
        deadline: Duration::from_secs(3600),
        ..Limits::default()
    }
}

fn render_with(limits: Limits, src: &str, data: &[(&str, &[u8])]) -> Result<String, TemplateError> {
    let data: BTreeMap<String, &[u8]> = data.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    Budget::new(limits)
        .render(src, &data)
        .map(|out| String::from_utf8_lossy(out.expose()).into_owned())
}

fn render(src: &str) -> Result<String, TemplateError> {
    render_with(untimed(), src, &[])
}

fn ok(src: &str) -> String {
    render(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn addf_of_integers_is_their_exact_sum(a in -(1i64 << 40)..(1i64 << 40), b in -(1i64 << 40)..(1i64 << 40)) {
        let num = |src: String| ok(&src).parse::<f64>().expect("a float");
        prop_assert_eq!(num(format!("{{{{ addf {a} {b} }}}}")), (a + b) as f64);
        prop_assert_eq!(num(format!("{{{{ subf {a} {b} }}}}")), (a - b) as f64);
    }

    #[test]
    fn mulf_by_one_and_divf_by_one_keep_short_decimals(cents in -1_000_000i64..1_000_000) {
        let x = format!("{}.{:02}", cents / 100, (cents % 100).abs());
        let x = if cents < 0 && cents > -100 { format!("-{x}") } else { x };
        let want: f64 = x.parse().expect("decimal");
        let want = format!("{want}");
        prop_assert_eq!(ok(&format!("{{{{ mulf {x} 1 }}}}")), want.clone());
        prop_assert_eq!(ok(&format!("{{{{ divf {x} 1 }}}}")), want);
    }
}

#[test]
fn float_functions_charge_work_in_loops() {
    let limits = Limits {
        max_work: 20_000,
        ..untimed()
    };
    let err = render_with(
        limits,
        "{{ $x := 1.1 }}{{ range until 300 }}{{ $x = mulf $x 1.2345678901234567 }}{{ end }}",
        &[],
    )
    .expect_err("the budget stops the loop");
    assert!(
        matches!(err, TemplateError::Limit { limit: Limit::Work }),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn url_join_of_a_parsed_join_is_a_fixed_point(
        scheme in "[a-z]{0,5}",
        host in "[a-z0-9.:\\[\\]%-]{0,12}",
        path in "[a-zA-Z0-9/ :?#%@!*()'-]{0,16}",
        query in "[a-z0-9=& %+]{0,10}",
        fragment in "[a-z0-9 #%!'-]{0,8}",
    ) {
        let data: [(&str, &[u8]); 5] = [
            ("scheme", scheme.as_bytes()),
            ("host", host.as_bytes()),
            ("path", path.as_bytes()),
            ("query", query.as_bytes()),
            ("fragment", fragment.as_bytes()),
        ];
        let dict = r#"(dict "scheme" .scheme "host" .host "path" .path "query" .query "fragment" .fragment)"#;
        let once = render_with(untimed(), &format!("{{{{ urlJoin {dict} }}}}"), &data)
            .expect("urlJoin of strings never fails");
        if let Ok(twice) = render_with(untimed(), &format!("{{{{ urlJoin {dict} | urlParse | urlJoin }}}}"), &data) {
            let thrice = render_with(
                untimed(),
                &format!("{{{{ urlJoin {dict} | urlParse | urlJoin | urlParse | urlJoin }}}}"),
                &data,
            ).expect("a URL that parsed once parses again");
            prop_assert_eq!(&twice, &thrice, "from {}", once);
        }
    }
}

fn version() -> impl Strategy<Value = String> {
    (
        0u8..4,
        0u8..4,
        0u8..4,
        proptest::option::of("[a-c0-9]{1,3}(\\.[a-c0-9]{1,2})?"),
    )
        .prop_filter(
            "no leading zeros in numeric prerelease parts",
            |(_, _, _, pre)| {
                pre.as_deref().is_none_or(|p| {
                    p.split('.').all(|part| {
                        !(part.len() > 1
                            && part.starts_with('0')
                            && part.bytes().all(|c| c.is_ascii_digit()))
                    })
                })
            },
        )
        .prop_map(|(a, b, c, pre)| match pre {
            Some(p) => format!("{a}.{b}.{c}-{p}"),
            None => format!("{a}.{b}.{c}"),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn semver_order_is_antisymmetric_and_agrees_with_constraints(a in version(), b in version()) {
        let out = ok(&format!(
            r#"{{{{ $a := semver "{a}" }}}}{{{{ $b := semver "{b}" }}}}{{{{ $a.Compare $b }}}} {{{{ $b.Compare $a }}}} {{{{ $a.LessThan $b }}}} {{{{ semverCompare "={a}" "{b}" }}}}"#
        ));
        let parts: Vec<&str> = out.split(' ').collect();
        let (ab, ba): (i64, i64) = (parts[0].parse().expect("int"), parts[1].parse().expect("int"));
        prop_assert_eq!(ab, -ba);
        prop_assert_eq!(parts[2] == "true", ab < 0);
        // "=a" matches exactly the versions equal to a
        prop_assert_eq!(parts[3] == "true", ab == 0);
    }
}

#[test]
fn semver_compare_charges_for_long_constraints() {
    let limits = Limits {
        max_work: 5_000,
        ..untimed()
    };
    let long = "1 || ".repeat(4_000) + "1";
    let err = render_with(
        limits,
        &format!(r#"{{{{ semverCompare "{long}" "1.0.0" }}}}"#),
        &[],
    )
    .expect_err("the budget stops it");
    assert!(
        matches!(err, TemplateError::Limit { limit: Limit::Work }),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    // from 1970 on: local mean times before that have offsets in seconds, which RFC 3339 drops
    fn dates_round_trip_through_layout_and_parse(
        secs in 0i64..253_402_300_799,
        zone in prop_oneof![Just("UTC"), Just("Europe/Berlin"), Just("America/St_Johns"), Just("Asia/Kolkata")],
    ) {
        let src = format!(
            r#"{{{{ dateInZone "2006-01-02T15:04:05Z07:00" (int64 {secs}) "{zone}" | toDate "2006-01-02T15:04:05Z07:00" | unixEpoch }}}}"#
        );
        prop_assert_eq!(ok(&src), secs.to_string());
    }

    #[test]
    fn durations_print_what_date_modify_parses(secs in -9_000_000_000i64..9_000_000_000) {
        let src = format!(
            r#"{{{{ toDate "2006" "2000" | mustDateModify (duration (int64 {secs})) | unixEpoch }}}}"#
        );
        prop_assert_eq!(ok(&src), (946_684_800 + secs).to_string());
    }
}

#[test]
fn now_is_the_current_time_with_a_monotonic_reading() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let out = ok(
        "{{ now | unixEpoch }} {{ now }} {{ htmlDate now }} {{ ago now }} {{ now | date \"MST\" }}",
    );
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let fields: Vec<&str> = out.split(' ').collect();
    let epoch: u64 = fields[0].parse().expect("seconds");
    assert!((before..=after).contains(&epoch), "{out}");
    // "2006-01-02 15:04:05.999999999 +0000 UTC m=+0.000000001"
    assert!(
        fields[4].starts_with("UTC") && fields[5].starts_with("m=+"),
        "{out}"
    );
    let today = ok(&format!("{{{{ htmlDate (int64 {epoch}) }}}}"));
    assert!(fields[6] == today || epoch < after, "{out}");
    assert_eq!(fields[7], "0s");
    assert_eq!(fields[8], "UTC");
}

#[test]
fn zone_lookups_charge_work() {
    let limits = Limits {
        max_work: 50_000,
        ..untimed()
    };
    let err = render_with(
        limits,
        r#"{{ range until 100 }}{{ dateInZone "2006" 0 "Europe/Berlin" }}{{ end }}"#,
        &[],
    )
    .expect_err("the budget stops the loop");
    assert!(
        matches!(err, TemplateError::Limit { limit: Limit::Work }),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_strings_have_the_length_and_alphabet_asked_for(n in 0usize..300) {
        let out = ok(&format!(
            "{{{{ randAlphaNum {n} }}}}|{{{{ randAlpha {n} }}}}|{{{{ randNumeric {n} }}}}|{{{{ randAscii {n} }}}}"
        ));
        let parts: Vec<&str> = out.splitn(4, '|').collect();
        prop_assert_eq!(parts.len(), 4);
        for (s, allowed) in parts.iter().zip([
            (|c: char| c.is_ascii_alphanumeric()) as fn(char) -> bool,
            |c: char| c.is_ascii_alphabetic(),
            |c: char| c.is_ascii_digit(),
            |c: char| (' '..='~').contains(&c),
        ]) {
            prop_assert_eq!(s.len(), n);
            prop_assert!(s.chars().all(allowed), "{:?}", s);
        }
    }

    #[test]
    fn shuffle_permutes_the_runes(s in "\\PC{0,40}") {
        let data: [(&str, &[u8]); 1] = [("s", s.as_bytes())];
        let out = render_with(untimed(), "{{ shuffle .s }}", &data).expect("renders");
        let (mut a, mut b): (Vec<char>, Vec<char>) = (s.chars().collect(), out.chars().collect());
        a.sort_unstable();
        b.sort_unstable();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn rand_int_stays_in_its_range(min in -1000i64..1000, width in 1i64..1000) {
        let max = min + width;
        let r: i64 = ok(&format!("{{{{ randInt {min} {max} }}}}")).parse().expect("int");
        prop_assert!((min..max).contains(&r));
    }
}

#[test]
fn uuids_and_random_bytes_are_well_formed_and_differ() {
    let out = ok("{{ uuidv4 }} {{ uuidv4 }} {{ randBytes 32 }} {{ randBytes 32 }}");
    let parts: Vec<&str> = out.split(' ').collect();
    for u in &parts[..2] {
        let groups: Vec<&str> = u.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "{u}"
        );
        assert!(
            u.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(
            groups[2].starts_with('4') && "89ab".contains(&groups[3][..1]),
            "{u}"
        );
    }
    assert_ne!(parts[0], parts[1]);
    assert_ne!(parts[2], parts[3]);
    assert_eq!(parts[2].len(), 44);
}

#[test]
fn random_strings_are_charged_to_the_budget() {
    let limits = Limits {
        max_memory: 1 << 20,
        ..untimed()
    };
    let err = render_with(limits, "{{ randAlphaNum 2000000 | len }}", &[])
        .expect_err("the budget stops it");
    assert!(
        matches!(
            err,
            TemplateError::Limit {
                limit: Limit::Memory
            }
        ),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn decrypt_aes_inverts_encrypt_aes(
        key in proptest::collection::vec(any::<u8>(), 0..40),
        text in proptest::collection::vec(any::<u8>(), 1..100),
    ) {
        let data: [(&str, &[u8]); 2] = [("k", &key), ("t", &text)];
        let out = render_with(untimed(), "{{ encryptAES .k .t | decryptAES .k | b64enc }}", &data)
            .expect("renders");
        prop_assert_eq!(out, base64_encode(&text));
        let sizes = render_with(untimed(), "{{ encryptAES .k .t | b64dec | len }}", &data).expect("renders");
        // IV plus the PKCS#7-padded text
        prop_assert_eq!(sizes, (16 + (text.len() / 16 + 1) * 16).to_string());
    }
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn derive_password_is_limited_by_the_memory_budget() {
    // each scrypt derivation holds 32 MiB: the default 64 MiB allows one per object
    let err = render_with(
        untimed(),
        r#"{{ range until 1000 }}{{ derivePassword 1 "pin" "p" "u" "s" }}{{ end }}"#,
        &[],
    )
    .expect_err("the budget stops the loop");
    assert!(
        matches!(
            err,
            TemplateError::Limit {
                limit: Limit::Memory
            }
        ),
        "{err}"
    );
}

mod certificates {
    use super::*;
    use base64::Engine as _;
    use der::{Decode as _, Encode as _};
    use x509_cert::Certificate;

    fn pem_der(pem: &str) -> Vec<u8> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("base64")
    }

    fn parse(pem: &str) -> Certificate {
        Certificate::from_der(&pem_der(pem)).expect("a certificate x509-cert parses")
    }

    fn common_name(name: &x509_cert::name::Name) -> String {
        name.to_string()
    }

    /// Renders `src` and splits its output at `|`.
    fn fields(src: &str) -> Vec<String> {
        ok(src).split('|').map(str::to_owned).collect()
    }

    fn days(cert: &Certificate) -> u64 {
        let v = cert.tbs_certificate().validity();
        let (from, to) = (
            v.not_before.to_unix_duration(),
            v.not_after.to_unix_duration(),
        );
        (to - from).as_secs() / 86_400
    }

    fn verifies(cert: &Certificate, issuer: &Certificate) -> bool {
        use aws_lc_rs::signature;
        let tbs = cert.tbs_certificate().to_der().expect("tbs");
        let sig = cert.signature().raw_bytes();
        let spki = issuer.tbs_certificate().subject_public_key_info();
        let key = spki.subject_public_key.raw_bytes();
        let alg: &dyn signature::VerificationAlgorithm =
            match spki.algorithm.oid.to_string().as_str() {
                "1.2.840.113549.1.1.1" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "1.2.840.10045.2.1" => &signature::ECDSA_P256_SHA256_ASN1,
                "1.3.101.112" => &signature::ED25519,
                other => panic!("unexpected key algorithm {other}"),
            };
        signature::UnparsedPublicKey::new(alg, key)
            .verify(&tbs, sig)
            .is_ok()
    }

    #[test]
    fn gen_ca_makes_a_self_signed_ca_with_the_asked_subject_and_lifetime() {
        let out = fields(r#"{{ $ca := genCA "my-ca" 365 }}{{ $ca.Cert }}|{{ $ca.Key }}"#);
        let ca = parse(&out[0]);
        let tbs = ca.tbs_certificate();
        assert_eq!(common_name(tbs.subject()), "CN=my-ca");
        assert_eq!(tbs.subject(), tbs.issuer());
        assert_eq!(days(&ca), 365);
        assert!(verifies(&ca, &ca));
        let exts = tbs.extensions().expect("extensions");
        let basic = exts
            .iter()
            .find(|x| x.extn_id.to_string() == "2.5.29.19")
            .expect("basic constraints");
        assert!(basic.critical);
        assert_eq!(basic.extn_value.as_bytes(), [0x30, 0x03, 0x01, 0x01, 0xff]);
        assert!(
            exts.iter().any(|x| x.extn_id.to_string() == "2.5.29.14"),
            "a subject key id"
        );
        assert!(out[1].starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    }

    #[test]
    fn gen_signed_cert_is_signed_by_the_ca_with_the_asked_sans() {
        for key in ["rsa", "ecdsa", "ed25519"] {
            let out = fields(&format!(
                r#"{{{{ $ca := genCAWithKey "the-ca" 30 (genPrivateKey "{key}") }}}}{{{{ $c := genSignedCert "leaf" (list "10.0.0.1" "::1") (list "a.example" "b.example") 7 $ca }}}}{{{{ $ca.Cert }}}}|{{{{ $c.Cert }}}}"#
            ));
            let (ca, leaf) = (parse(&out[0]), parse(&out[1]));
            let tbs = leaf.tbs_certificate();
            assert_eq!(common_name(tbs.subject()), "CN=leaf");
            assert_eq!(tbs.issuer(), ca.tbs_certificate().subject());
            assert_eq!(days(&leaf), 7);
            assert!(verifies(&leaf, &ca), "{key}: signed by the CA");
            assert!(!verifies(&leaf, &leaf), "{key}: not self-signed");
            let san = tbs
                .extensions()
                .expect("extensions")
                .iter()
                .find(|x| x.extn_id.to_string() == "2.5.29.17")
                .expect("SANs")
                .extn_value
                .as_bytes()
                .to_vec();
            let contains = |needle: &[u8]| san.windows(needle.len()).any(|w| w == needle);
            assert!(
                contains(b"\x82\x09a.example") && contains(b"\x82\x09b.example"),
                "{key}"
            );
            assert!(contains(&[0x87, 4, 10, 0, 0, 1]), "{key}: IPv4 SAN");
            let mut v6 = vec![0x87, 16];
            v6.extend(std::net::Ipv6Addr::LOCALHOST.octets());
            assert!(contains(&v6), "{key}: IPv6 SAN");
        }
    }

    #[test]
    fn gen_self_signed_cert_with_key_keeps_the_key() {
        let out = fields(
            r#"{{ $k := genPrivateKey "ecdsa" }}{{ $c := genSelfSignedCertWithKey "host" nil (list "h.example") 1 $k }}{{ $c.Cert }}|{{ eq $c.Key $k }}"#,
        );
        let cert = parse(&out[0]);
        assert!(verifies(&cert, &cert));
        assert_eq!(out[1], "true");
    }

    #[test]
    fn a_ca_key_that_does_not_match_its_certificate_is_refused() {
        let err = render(
            r#"{{ $a := genCA "a" 1 }}{{ $b := genCA "b" 1 }}{{ $mixed := buildCustomCert (b64enc $a.Cert) (b64enc $b.Key) }}{{ genSignedCert "l" nil nil 1 $mixed }}"#,
        )
        .expect_err("mismatched CA key");
        assert!(matches!(err, TemplateError::Exec { .. }), "{err}");
    }

    #[test]
    fn key_generation_cannot_loop_within_one_object() {
        let err = render(r#"{{ range until 10000 }}{{ genPrivateKey "ed25519" }}{{ end }}"#)
            .expect_err("the budget stops the loop");
        assert!(
            matches!(err, TemplateError::Limit { limit: Limit::Work }),
            "{err}"
        );
        let err = render(r#"{{ range until 10 }}{{ genPrivateKey "rsa" }}{{ end }}"#)
            .expect_err("the budget stops the loop");
        assert!(
            matches!(err, TemplateError::Limit { limit: Limit::Work }),
            "{err}"
        );
    }
}
