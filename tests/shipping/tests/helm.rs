//! The Helm chart in deploy/helm/sealed-secrets: it lints, renders what the golden files hold,
//! renders by default the same objects as the kustomize base, passes only flags the controller
//! takes, and rejects values it does not support, naming them.
//!
//! Needs the pinned helm (`deploy/tools.sh helm`): without it these tests are ignored, and
//! under CI they fail. Refresh the golden files with `UPDATE_GOLDEN=1`.
#![cfg_attr(not(helm), allow(dead_code))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use sealed_secrets_controller::config::Flags;
use serde_json::{Value, json};

const RELEASE: &str = "sealed-secrets-controller";
const NAMESPACE: &str = "kube-system";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chart() -> PathBuf {
    root().join("deploy/helm/sealed-secrets")
}

fn helm(args: &[&str]) -> Output {
    let helm = env!("SHIPPING_HELM");
    Command::new(helm)
        .args(args)
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("shipping-helm/cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("shipping-helm/config"),
        )
        .env(
            "HELM_DATA_HOME",
            std::env::temp_dir().join("shipping-helm/data"),
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot run {helm} (install it with deploy/tools.sh helm): {e}"))
}

/// `helm template` of the chart with `extra` arguments; the text, or helm's error.
fn template(extra: &[&str]) -> Result<String, String> {
    let chart = chart();
    let mut args = vec![
        "template",
        RELEASE,
        chart.to_str().unwrap(),
        "--namespace",
        NAMESPACE,
        "--include-crds",
    ];
    args.extend_from_slice(extra);
    let out = helm(&args);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn objects(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap()
        .into_iter()
        .filter(|o| !o.is_null())
        .collect()
}

fn full_values() -> String {
    chart()
        .join("tests/full-values.yaml")
        .to_string_lossy()
        .into_owned()
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} not rendered"))
}

fn container_args(objs: &[Value], deployment: &str) -> Vec<String> {
    find(objs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn assert_golden(name: &str, rendered: &str) {
    let path = chart().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rendered).unwrap();
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        golden == rendered,
        "{} is stale: review `helm template` output and rerun with UPDATE_GOLDEN=1",
        path.display()
    );
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn chart_lints_with_default_and_full_values() {
    let chart = chart();
    let values = full_values();
    for extra in [vec![], vec!["--values", values.as_str()]] {
        let mut args = vec!["lint", "--strict", chart.to_str().unwrap()];
        args.extend(extra.iter().copied());
        let out = helm(&args);
        assert!(
            out.status.success(),
            "helm lint {extra:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn default_render_matches_golden() {
    assert_golden("default.yaml", &template(&[]).unwrap());
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn full_values_render_matches_golden() {
    assert_golden(
        "full.yaml",
        &template(&["--values", &full_values()]).unwrap(),
    );
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn chart_crd_is_the_generated_one() {
    let chart_crd = std::fs::read_to_string(chart().join("crds/sealedsecret-crd.yaml")).unwrap();
    let base_crd = std::fs::read_to_string(root().join("deploy/crd.yaml")).unwrap();
    assert!(
        chart_crd == base_crd,
        "deploy/helm/sealed-secrets/crds/sealedsecret-crd.yaml differs from deploy/crd.yaml: copy it"
    );
}

/// Helm's own labels, and the selector labels each install keeps from its upstream
/// counterpart (a Deployment's selector can never change, so an in-place upgrade from
/// upstream's chart or controller.yaml needs that one's selector).
fn without_labels(mut object: Value) -> Value {
    fn strip(v: &mut Value) {
        if let Some(map) = v.as_object_mut() {
            for key in ["labels", "matchLabels", "selector"] {
                if map.get(key).is_some_and(|l| {
                    l.as_object()
                        .is_some_and(|m| m.values().all(Value::is_string))
                }) {
                    map.remove(key);
                }
            }
            map.values_mut().for_each(strip);
        } else if let Some(items) = v.as_array_mut() {
            items.iter_mut().for_each(strip);
        }
    }
    strip(&mut object);
    object
}

/// Names that follow upstream's chart (`<fullname>-key-admin`, ...) where the kustomize base
/// follows upstream's controller.yaml.
fn base_name(kind: &str, chart_name: &str) -> String {
    match (kind, chart_name) {
        ("Role", "sealed-secrets-controller-key-admin") => "sealed-secrets-key-admin".into(),
        ("RoleBinding", "sealed-secrets-controller-key-admin") => {
            "sealed-secrets-controller".into()
        }
        ("Role" | "RoleBinding", "sealed-secrets-controller-service-proxier") => {
            "sealed-secrets-service-proxier".into()
        }
        _ => chart_name.into(),
    }
}

fn keyed(objs: Vec<Value>, rename: bool) -> BTreeMap<(String, String), Value> {
    objs.into_iter()
        .map(|mut o| {
            let kind = o["kind"].as_str().unwrap().to_owned();
            let mut name = o["metadata"]["name"].as_str().unwrap().to_owned();
            if rename {
                name = base_name(&kind, &name);
                o["metadata"]["name"] = json!(name);
                if let Some(r) = o.get("roleRef").and_then(|r| r["name"].as_str()) {
                    let renamed = base_name(o["roleRef"]["kind"].as_str().unwrap(), r);
                    o["roleRef"]["name"] = json!(renamed);
                }
            }
            if let Some(m) = o["metadata"].as_object_mut() {
                m.remove("annotations");
            }
            ((kind, name), without_labels(o))
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn default_render_is_the_kustomize_base() {
    let chart = keyed(objects(&template(&[]).unwrap()), true);
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(root().join("deploy"))
        .output()
        .expect("kubectl is needed to render deploy/");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = keyed(objects(&String::from_utf8(out.stdout).unwrap()), false);
    assert_eq!(
        chart.keys().collect::<Vec<_>>(),
        base.keys().collect::<Vec<_>>(),
        "the same objects"
    );
    for (key, object) in &chart {
        assert_eq!(object, &base[key], "{key:?}");
    }
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn every_generated_flag_is_one_the_controller_takes() {
    for (what, extra) in [
        ("default", vec![]),
        ("full values", vec!["--values".to_owned(), full_values()]),
        // Values the full file leaves at their defaults, the other way round.
        (
            "flags",
            [
                "updateStatus=true",
                "logInfoStdout=true",
                "keyrenewperiod=720h",
            ]
            .iter()
            .flat_map(|s| ["--set".to_owned(), (*s).to_owned()])
            .collect(),
        ),
    ] {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let objs = objects(&template(&extra).unwrap());
        let deployment =
            objs.iter().find(|o| o["kind"] == "Deployment").unwrap()["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_owned();
        let args = container_args(&objs, &deployment);
        let parsed = Flags::try_parse_from(
            std::iter::once("sealed-secrets-controller".to_owned()).chain(args.iter().cloned()),
        );
        assert!(parsed.is_ok(), "{what}: {args:?}: {}", parsed.unwrap_err());
    }
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn upstream_values_become_the_controllers_flags() {
    let objs = objects(&template(&["--values", &full_values()]).unwrap());
    let args = container_args(&objs, "sealed-secrets-controller");
    let flags =
        Flags::try_parse_from(std::iter::once("sealed-secrets-controller".to_owned()).chain(args))
            .unwrap();
    assert_eq!(flags.key_prefix, "my-sealing-key");
    assert!(!flags.update_status && flags.skip_recreate && flags.old_gc_behavior);
    assert_eq!(flags.key_renew_period, std::time::Duration::ZERO);
    assert_eq!(flags.key_ttl, std::time::Duration::from_secs(17520 * 3600));
    assert!(flags.key_cutoff_time.is_some());
    assert_eq!(
        (flags.rate_limit.get(), flags.rate_limit_burst.get()),
        (5, 10)
    );
    assert_eq!(flags.additional_namespaces, ["team-a", "team-b"]);
    assert_eq!(flags.privatekey_annotations["backup"], "true");
    assert_eq!(flags.privatekey_labels["tier"], "keys");
    assert!(!flags.log_info_stdout);
    assert_eq!(
        (flags.log_level.as_str(), flags.log_format.as_str()),
        ("WARN", "json")
    );
    assert_eq!(flags.key_size, 3072);

    // The default render passes nothing: the controller's defaults are the chart's.
    let objs = objects(&template(&[]).unwrap());
    assert_eq!(container_args(&objs, RELEASE), Vec::<String>::new());
}

fn unsealer_verbs_on_secrets(objs: &[Value], role: &str) -> Vec<String> {
    find(objs, "ClusterRole", role)["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["apiGroups"] == json!([""]) && r["resources"] == json!(["secrets"]))
        .flat_map(|r| r["verbs"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn secret_delete_is_granted_only_with_old_gc_behavior() {
    let default = objects(&template(&[]).unwrap());
    assert!(!unsealer_verbs_on_secrets(&default, "secrets-unsealer").contains(&"delete".into()));
    for flag in ["--old-gc-behavior", "--old-gc-behavior=true"] {
        let objs =
            objects(&template(&["--set-json", &format!("commandArgs=[\"{flag}\"]")]).unwrap());
        assert!(
            unsealer_verbs_on_secrets(&objs, "secrets-unsealer").contains(&"delete".into()),
            "{flag}"
        );
    }
    let objs =
        objects(&template(&["--set-json", "commandArgs=[\"--old-gc-behavior=false\"]"]).unwrap());
    assert!(!unsealer_verbs_on_secrets(&objs, "secrets-unsealer").contains(&"delete".into()));
}

#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn unsupported_upstream_values_fail_naming_them() {
    for (set, name) in [
        ("ingress.enabled=true", "ingress"),
        ("pdb.create=true", "pdb"),
        ("hostNetwork=true", "hostNetwork"),
        ("image.digest=sha256:0", "digest"),
        ("networkPolicy.ingress=x", "ingress"),
        ("metrics.dashboards.create=true", "dashboards"),
        ("rbac.namespacedRoles=true", "namespacedRoles"),
    ] {
        let err = template(&["--set", set]).expect_err(set);
        assert!(err.contains(name), "{set}: the error names {name}: {err}");
    }
    let err = template(&["--set", "rbac.pspEnabled=true"]).expect_err("pspEnabled");
    assert!(err.contains("pspEnabled"), "{err}");
}

/// What `default_render_is_the_kustomize_base` leaves out: the chart keeps upstream chart's
/// Deployment selector (so `helm upgrade` from it works), and every selector in the chart
/// selects the controller's pods.
#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn chart_selectors_are_upstream_charts_and_select_the_pods() {
    let values = full_values();
    for extra in [vec![], vec!["--values", values.as_str()]] {
        let objs = objects(&template(&extra).unwrap());
        let deployment = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
        let selector = &deployment["spec"]["selector"]["matchLabels"];
        let name = if extra.is_empty() {
            "sealed-secrets"
        } else {
            "secrets"
        };
        assert_eq!(
            selector,
            &json!({"app.kubernetes.io/name": name, "app.kubernetes.io/instance": RELEASE})
        );
        let pod = &deployment["spec"]["template"]["metadata"]["labels"];
        let selects = |s: &Value| {
            let s = s.as_object().unwrap();
            !s.is_empty() && s.iter().all(|(k, v)| &pod[k] == v)
        };
        assert!(selects(selector));
        for o in &objs {
            let s = match o["kind"].as_str().unwrap() {
                "Service" => &o["spec"]["selector"],
                "NetworkPolicy" => &o["spec"]["podSelector"]["matchLabels"],
                _ => continue,
            };
            assert!(selects(s), "{} {}", o["kind"], o["metadata"]["name"]);
        }
        if extra.is_empty() {
            let anti = &deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
                [0]["podAffinityTerm"]["labelSelector"]["matchLabels"];
            assert!(selects(anti), "replicas spread over nodes");
        }
    }
}

/// `rbac.clusterRole: false` left the controller without its ClusterRoleBinding, so an upgrade
/// from upstream's chart with it (a ClusterRole shared between releases) silently took every
/// cluster permission away. Upstream binds to `clusterRoleName` whoever creates it.
#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn cluster_role_false_still_binds_the_controller_to_the_named_role() {
    let objs = objects(
        &template(&[
            "--set",
            "rbac.clusterRole=false",
            "--set",
            "rbac.clusterRoleName=shared",
        ])
        .unwrap(),
    );
    assert!(!objs.iter().any(|o| o["kind"] == "ClusterRole"));
    let binding = find(&objs, "ClusterRoleBinding", RELEASE);
    assert_eq!(binding["roleRef"]["name"], "shared");
    assert_eq!(binding["subjects"][0]["name"], RELEASE);
}

/// `resources` given were merged with the chart's defaults: `limits: {memory: 512Mi}` came
/// out with a 500m CPU limit nobody asked for. As in upstream's chart, they replace them.
#[test]
#[cfg_attr(
    not(helm),
    ignore = "helm not installed: deploy/tools.sh helm (CI installs it)"
)]
fn resources_given_replace_the_defaults_whole() {
    let resources_of = |extra: &[&str]| {
        let objs = objects(&template(extra).unwrap());
        find(&objs, "Deployment", RELEASE)["spec"]["template"]["spec"]["containers"][0]["resources"]
            .clone()
    };
    assert_eq!(
        resources_of(&[]),
        json!({"limits": {"cpu": "500m", "memory": "256Mi"},
               "requests": {"cpu": "50m", "memory": "64Mi"}})
    );
    let given = r#"resources={"limits":{"memory":"512Mi"},"requests":{"cpu":"100m"}}"#;
    assert_eq!(
        resources_of(&["--set-json", given]),
        json!({"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m"}})
    );
    let none = r#"resources={"limits":{},"requests":{}}"#;
    assert_eq!(
        resources_of(&["--set-json", none]),
        json!({"limits": {}, "requests": {}})
    );
}
