//! `kubectl kustomize deploy/` renders, and what it renders is the hardened, least-privilege
//! install we intend. Needs kubectl (its built-in kustomize): without it these tests fail.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use sealed_secrets_controller::crd::crd;
use serde_json::{Value, json};

const NS: &str = "kube-system";

/// `kubectl kustomize <dir>` for a directory relative to the repository root.
fn kustomize(dir: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("kubectl is needed to render {dir}: {e}"));
    assert!(
        out.status.success(),
        "kubectl kustomize {dir} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_saphyr::from_multiple::<Value>(&text).unwrap()
}

fn render() -> Option<Vec<Value>> {
    Some(kustomize("deploy"))
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} not rendered"))
}

#[test]
fn kustomize_renders_expected_objects() {
    let Some(objs) = render() else { return };
    let got: BTreeSet<(String, String, String)> = objs
        .iter()
        .map(|o| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                s(&o["kind"]),
                s(&o["metadata"]["name"]),
                s(&o["metadata"]["namespace"]),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = [
        ("CustomResourceDefinition", "sealedsecrets.bitnami.com", ""),
        ("ServiceAccount", "sealed-secrets-controller", NS),
        ("ClusterRole", "secrets-unsealer", ""),
        ("ClusterRoleBinding", "sealed-secrets-controller", ""),
        ("Role", "sealed-secrets-key-admin", NS),
        ("RoleBinding", "sealed-secrets-controller", NS),
        ("Role", "sealed-secrets-service-proxier", NS),
        ("RoleBinding", "sealed-secrets-service-proxier", NS),
        ("Role", "sealed-secrets-controller-leader-election", NS),
        (
            "RoleBinding",
            "sealed-secrets-controller-leader-election",
            NS,
        ),
        ("Deployment", "sealed-secrets-controller", NS),
        ("Service", "sealed-secrets-controller", NS),
        ("Service", "sealed-secrets-controller-metrics", NS),
        ("NetworkPolicy", "sealed-secrets-controller", NS),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);

    // The rendered CRD is the generated one.
    let rendered: CustomResourceDefinition = serde_json::from_value(
        find(
            &objs,
            "CustomResourceDefinition",
            "sealedsecrets.bitnami.com",
        )
        .clone(),
    )
    .unwrap();
    assert_eq!(rendered, crd());
}

#[test]
fn deployment_is_hardened() {
    let Some(objs) = render() else { return };
    let d = find(&objs, "Deployment", "sealed-secrets-controller");
    assert_eq!(d["spec"]["replicas"], 2);
    let pod = &d["spec"]["template"];
    let selector = &d["spec"]["selector"]["matchLabels"];
    for (k, v) in selector.as_object().unwrap() {
        assert_eq!(
            &pod["metadata"]["labels"][k], v,
            "selector matches pod labels"
        );
    }
    let spec = &pod["spec"];
    assert_eq!(spec["serviceAccountName"], "sealed-secrets-controller");
    let psc = &spec["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true);
    assert_eq!(psc["runAsUser"], 1001);
    assert_eq!(psc["fsGroup"], 65534);
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault");

    let containers = spec["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert!(
        c["image"]
            .as_str()
            .unwrap()
            .contains("sealed-secrets-controller")
    );
    let csc = &c["securityContext"];
    assert_eq!(csc["allowPrivilegeEscalation"], false);
    assert_eq!(csc["readOnlyRootFilesystem"], true);
    assert_eq!(csc["capabilities"]["drop"], json!(["ALL"]));
    assert!(csc["capabilities"].get("add").is_none());
    assert!(csc.get("privileged").is_none_or(|p| p == false));

    let ports: BTreeMap<&str, i64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["containerPort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ports, BTreeMap::from([("http", 8080), ("metrics", 8081)]));
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            c[probe]["httpGet"],
            json!({"path": "/healthz", "port": "http"}),
            "{probe}"
        );
    }
    let env = c["env"].as_array().unwrap();
    let pod_ns = env
        .iter()
        .find(|e| e["name"] == "POD_NAMESPACE")
        .expect("POD_NAMESPACE");
    assert_eq!(
        pod_ns["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    for k in ["requests", "limits"] {
        for r in ["cpu", "memory"] {
            assert!(c["resources"][k][r].is_string(), "resources.{k}.{r}");
        }
    }
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == "/tmp")
        .expect("/tmp mount");
    let vol = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert!(vol["emptyDir"].is_object());
    assert!(spec.get("hostNetwork").is_none() && spec.get("hostPID").is_none());
}

#[test]
fn services_expose_named_ports() {
    let Some(objs) = render() else { return };
    let d = find(&objs, "Deployment", "sealed-secrets-controller");
    let pod_labels = &d["spec"]["template"]["metadata"]["labels"];
    for (name, port_name, port) in [
        ("sealed-secrets-controller", "http", 8080),
        ("sealed-secrets-controller-metrics", "metrics", 8081),
    ] {
        let s = find(&objs, "Service", name);
        let ports = s["spec"]["ports"].as_array().unwrap();
        assert_eq!(ports.len(), 1, "{name}");
        assert_eq!(ports[0]["name"], port_name);
        assert_eq!(ports[0]["port"], port);
        assert_eq!(ports[0]["targetPort"], port_name);
        for (k, v) in s["spec"]["selector"].as_object().unwrap() {
            assert_eq!(&pod_labels[k], v, "{name} selects the controller pods");
        }
    }
}

type Grant = (String, String, String, Option<String>);

/// The cluster-wide grants the controller's API calls need: SealedSecret watches and status
/// patches, Secret get/watch/create/replace, events.k8s.io events. Nothing else: no `delete`
/// on Secrets (only `--old-gc-behavior` deletes), no `namespaces`, no status `update`.
fn unsealer_grants() -> BTreeSet<Grant> {
    allowed(&[
        ("bitnami.com", "sealedsecrets", &["list", "watch"], &[]),
        ("bitnami.com", "sealedsecrets/status", &["patch"], &[]),
        (
            "",
            "secrets",
            &["get", "list", "watch", "create", "update"],
            &[],
        ),
        ("events.k8s.io", "events", &["create"], &[]),
    ])
}

/// Expands rules into (apiGroup, resource, verb, resourceName) tuples; wildcards are kept as `*`.
fn grants(role: &Value) -> BTreeSet<Grant> {
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        assert!(rule.get("nonResourceURLs").is_none());
        let names = strs(&rule["resourceNames"]);
        let names: Vec<Option<String>> = if names.is_empty() {
            vec![None]
        } else {
            names.into_iter().map(Some).collect()
        };
        for g in strs(&rule["apiGroups"]) {
            for r in strs(&rule["resources"]) {
                for v in strs(&rule["verbs"]) {
                    for n in &names {
                        out.insert((g.clone(), r.clone(), v.clone(), n.clone()));
                    }
                }
            }
        }
    }
    out
}

fn allowed(rows: &[(&str, &str, &[&str], &[&str])]) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for (g, r, verbs, names) in rows {
        for v in *verbs {
            if names.is_empty() {
                out.insert(((*g).to_string(), (*r).to_string(), (*v).to_string(), None));
            }
            for n in *names {
                out.insert((
                    (*g).to_string(),
                    (*r).to_string(),
                    (*v).to_string(),
                    Some((*n).to_string()),
                ));
            }
        }
    }
    out
}

#[test]
fn rbac_grants_only_what_the_controller_calls() {
    let Some(objs) = render() else { return };
    let unsealer = unsealer_grants();
    let key_admin = allowed(&[("", "secrets", &["create", "list"], &[])]);
    let proxier = allowed(&[
        ("", "services", &["get"], &["sealed-secrets-controller"]),
        (
            "",
            "services/proxy",
            &["create", "get"],
            &[
                "http:sealed-secrets-controller:",
                "http:sealed-secrets-controller:http",
                "sealed-secrets-controller",
            ],
        ),
    ]);
    let leases = allowed(&[(
        "coordination.k8s.io",
        "leases",
        &["get", "create", "update", "patch"],
        &[],
    )]);
    let expected: BTreeMap<(&str, &str), &BTreeSet<Grant>> = BTreeMap::from([
        (("ClusterRole", "secrets-unsealer"), &unsealer),
        (("Role", "sealed-secrets-key-admin"), &key_admin),
        (("Role", "sealed-secrets-service-proxier"), &proxier),
        (
            ("Role", "sealed-secrets-controller-leader-election"),
            &leases,
        ),
    ]);
    let roles: Vec<&Value> = objs
        .iter()
        .filter(|o| o["kind"] == "Role" || o["kind"] == "ClusterRole")
        .collect();
    assert_eq!(roles.len(), expected.len(), "no other roles");
    for role in roles {
        let key = (
            role["kind"].as_str().unwrap(),
            role["metadata"]["name"].as_str().unwrap(),
        );
        let want = expected
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected {key:?}"));
        let got = grants(role);
        let extra: Vec<_> = got.difference(want).collect();
        assert!(
            extra.is_empty(),
            "{key:?} grants more than intended: {extra:?}"
        );
        assert!(
            got.iter()
                .all(|(g, r, v, _)| g != "*" && r != "*" && v != "*"),
            "{key:?} uses a wildcard"
        );
        assert_eq!(&got, *want, "{key:?}");
        if role["kind"] == "Role" {
            assert_eq!(role["metadata"]["namespace"], NS);
        }
    }

    // Bindings: the controller's ServiceAccount gets its roles; only the proxier goes to all users.
    let sa =
        json!([{"kind": "ServiceAccount", "name": "sealed-secrets-controller", "namespace": NS}]);
    for (kind, name, role_kind, role) in [
        (
            "ClusterRoleBinding",
            "sealed-secrets-controller",
            "ClusterRole",
            "secrets-unsealer",
        ),
        (
            "RoleBinding",
            "sealed-secrets-controller",
            "Role",
            "sealed-secrets-key-admin",
        ),
        (
            "RoleBinding",
            "sealed-secrets-controller-leader-election",
            "Role",
            "sealed-secrets-controller-leader-election",
        ),
    ] {
        let b = find(&objs, kind, name);
        assert_eq!(
            b["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role})
        );
        assert_eq!(b["subjects"], sa, "{kind} {name}");
    }
    let p = find(&objs, "RoleBinding", "sealed-secrets-service-proxier");
    assert_eq!(p["roleRef"]["name"], "sealed-secrets-service-proxier");
    assert_eq!(
        p["subjects"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}])
    );
}

fn pod_labels(objs: &[Value]) -> &Value {
    &find(objs, "Deployment", "sealed-secrets-controller")["spec"]["template"]["metadata"]["labels"]
}

fn selects(selector: &Value, labels: &Value) -> bool {
    let selector = selector.as_object().unwrap();
    !selector.is_empty() && selector.iter().all(|(k, v)| &labels[k] == v)
}

/// `kubectl apply` over an upstream controller.yaml install only works with upstream's
/// Deployment selector, which Kubernetes never lets change.
#[test]
fn deployment_keeps_upstreams_selector() {
    let Some(objs) = render() else { return };
    let d = find(&objs, "Deployment", "sealed-secrets-controller");
    assert_eq!(
        d["spec"]["selector"],
        json!({"matchLabels": {"name": "sealed-secrets-controller"}})
    );
}

#[test]
fn network_policy_admits_only_the_listeners_and_the_api_server() {
    let Some(objs) = render() else { return };
    let policy = &find(&objs, "NetworkPolicy", "sealed-secrets-controller")["spec"];
    assert!(
        selects(&policy["podSelector"]["matchLabels"], pod_labels(&objs)),
        "the policy selects the controller pods"
    );
    assert_eq!(policy["policyTypes"], json!(["Ingress", "Egress"]));
    let ports = |rules: &Value| -> BTreeSet<(i64, String)> {
        let rules = rules.as_array().unwrap();
        assert_eq!(rules.len(), 1, "one rule: {rules:?}");
        rules[0]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["port"].as_i64().unwrap(),
                    p["protocol"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let tcp = |ports: &[i64]| -> BTreeSet<(i64, String)> {
        ports.iter().map(|p| (*p, "TCP".to_string())).collect()
    };
    assert_eq!(ports(&policy["ingress"]), tcp(&[8080, 8081]));
    assert_eq!(ports(&policy["egress"]), tcp(&[443, 6443]));
}

/// The documented `--old-gc-behavior` variant: the base plus the flag and `delete` on Secrets,
/// nothing else.
#[test]
fn old_gc_variant_adds_the_flag_and_secret_delete_only() {
    let Some(base) = render() else { return };
    let variant = kustomize("examples/old-gc-behavior");
    assert_eq!(variant.len(), base.len());
    let role = find(&variant, "ClusterRole", "secrets-unsealer");
    let mut want = unsealer_grants();
    want.insert((String::new(), "secrets".into(), "delete".into(), None));
    assert_eq!(grants(role), want);
    let d = find(&variant, "Deployment", "sealed-secrets-controller");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["--old-gc-behavior"])
    );
    for object in &variant {
        let kind = object["kind"].as_str().unwrap();
        if kind == "ClusterRole" || kind == "Deployment" {
            continue;
        }
        let name = object["metadata"]["name"].as_str().unwrap();
        assert_eq!(object, find(&base, kind, name), "{kind} {name} unchanged");
    }
}

/// controller.yaml (the one-file release install) is what deploy/ renders today, with the image
/// pinned to this release's version.
#[test]
fn release_manifest_is_the_rendered_base() {
    let Some(base) = render() else { return };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../controller.yaml");
    let text = std::fs::read_to_string(&path).expect("controller.yaml");
    let release: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    assert!(
        release == base,
        "controller.yaml is stale: run deploy/generate-controller-yaml"
    );
    let d = find(&release, "Deployment", "sealed-secrets-controller");
    let image = d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert_eq!(
        image.rsplit_once(':').map(|(_, tag)| tag),
        Some(env!("CARGO_PKG_VERSION")),
        "the release manifest pins this release's image: {image}"
    );
}
