//! `kubeseal keys …` and the controller read the same key Secrets with one model
//! (`seal::KeyRecord`): they must agree on which key seals. Runs on the fake and on the real
//! control plane.

use std::time::Duration;

use e2e::{Env, Target, run};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use seal::key_record::RENEWAL_REQUESTED_AT_ANNOTATION;
use seal::{Certificate, Fingerprint, ObjectMeta, PrivateKey, tls_key_secret};

macro_rules! e2e {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fake() {
                super::run(super::Target::Fake, stringify!($name), super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(control_plane),
                ignore = "needs the test control plane (etcd and Go): see tests/README.md"
            )]
            async fn cluster() {
                super::run(super::Target::Cluster, stringify!($name), super::$name).await;
            }
        }
    };
}

e2e!(controller_keys_list_and_keys_rotate_pick_the_same_sealing_key);

/// Two keys whose certificates start in the same second: RSA keys first, so that both
/// certificates are signed within one second (retried until they are).
fn twin_keys() -> [(PrivateKey, Certificate); 2] {
    let keys = [
        PrivateKey::generate(2048).unwrap(),
        PrivateKey::generate(2048).unwrap(),
    ];
    loop {
        let certificates = keys.each_ref().map(|key| {
            Certificate::self_signed(key, "", seal::keys::DEFAULT_CERT_VALIDITY).unwrap()
        });
        if certificates[0].not_before() == certificates[1].not_before() {
            let [a, b] = keys;
            let [ca, cb] = certificates;
            return [(a, ca), (b, cb)];
        }
    }
}

async fn create_key_secret(env: &Env, name: &str, key: &PrivateKey, cert: &Certificate) {
    let secret = tls_key_secret(
        key,
        cert,
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(env.ns.clone()),
            ..ObjectMeta::default()
        },
    );
    let secret: Secret = serde_json::from_value(serde_json::to_value(&secret).unwrap()).unwrap();
    Api::<Secret>::namespaced(env.client.clone(), &env.ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create key Secret");
}

fn fingerprint_of_pem(pem: &str) -> Fingerprint {
    Certificate::from_pem(pem.as_bytes())
        .expect("controller certificate")
        .public_key()
        .fingerprint()
        .clone()
}

/// `kubeseal keys list` ordered keys by notBefore, then fingerprint; the controller by notBefore,
/// then the newer Secret. With two certificates from the same second, the list's SEALS column and
/// the Secret `keys rotate` put its request on could name another key than the one the
/// controller seals with.
async fn controller_keys_list_and_keys_rotate_pick_the_same_sealing_key(env: Env) {
    let first_key = fingerprint_of_pem(&env.cert_pem().await);
    let [(key_a, cert_a), (key_b, cert_b)] = twin_keys();
    // The Secret created later has the larger fingerprint: the old `keys list` picked the other.
    let (older, newer) = if key_a.fingerprint() < key_b.fingerprint() {
        ((key_a, cert_a), (key_b, cert_b))
    } else {
        ((key_b, cert_b), (key_a, cert_a))
    };
    create_key_secret(&env, "twin-older", &older.0, &older.1).await;
    // Creation timestamps have whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    create_key_secret(&env, "twin-newer", &newer.0, &newer.1).await;

    // The controller's choice, once it has seen both.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let controller_choice = loop {
        let fingerprint = fingerprint_of_pem(&env.cert_pem().await);
        if fingerprint != first_key {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if fingerprint_of_pem(&env.cert_pem().await) == fingerprint {
                break fingerprint;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the controller never sealed with a new key; log:\n{}",
            env.controller_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(&controller_choice, newer.0.fingerprint());

    // `keys list`.
    let out = env.kubeseal(
        &[
            "keys",
            "list",
            "-o",
            "json",
            "--controller-namespace",
            &env.ns,
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let sealing: Vec<&serde_json::Value> = rows.iter().filter(|r| r["sealing"] == true).collect();
    assert_eq!(sealing.len(), 1, "{rows:?}");
    assert_eq!(sealing[0]["fingerprint"], controller_choice.to_string());
    assert_eq!(sealing[0]["name"], "twin-newer");

    // `keys rotate` asks on the sealing key's Secret, and the controller answers with a new key.
    let out = env.kubeseal(
        &[
            "keys",
            "rotate",
            "--controller-namespace",
            &env.ns,
            "--timeout",
            "60s",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}\nlog:\n{}",
        String::from_utf8_lossy(&out.stderr),
        env.controller_log()
    );
    let secrets = Api::<Secret>::namespaced(env.client.clone(), &env.ns);
    let requested: Vec<String> = secrets
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|s| {
            s.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(RENEWAL_REQUESTED_AT_ANNOTATION))
        })
        .filter_map(|s| s.metadata.name)
        .collect();
    assert_eq!(
        requested,
        ["twin-newer"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
