//! The per-object budget: output, items, work and time are shared by all items of an object,
//! and the loops inside functions are charged.

use std::collections::BTreeMap;
use std::time::Duration;

use gotemplate::{Budget, Limit, Limits, TemplateError};

fn untimed() -> Limits {
    Limits {
        deadline: Duration::from_secs(3600),
        ..Limits::default()
    }
}

fn no_values() -> BTreeMap<String, &'static [u8]> {
    BTreeMap::new()
}

fn limit(limit: Limit) -> Result<gotemplate::SecretBytes, TemplateError> {
    Err(TemplateError::Limit { limit })
}

/// Issue: 250 items of `{{ repeat 1048576 "a" }}` each got fresh limits and were all kept.
#[test]
fn repeat_a_mebibyte_in_250_items_hits_the_object_output_budget() {
    let mut budget = Budget::new(untimed());
    let values = no_values();
    let source = r#"{{ repeat 1048576 "a" }}"#;
    let first = budget.render(source, &values).unwrap();
    assert_eq!(first.len(), 1 << 20, "one item may use the whole budget");
    assert_eq!(budget.render(source, &values), limit(Limit::Output));
    // Each refused item still builds its string before writing it: the memory budget ends
    // that too.
    let mut refused = 1;
    for _ in 2..250 {
        match budget.render(source, &values) {
            Err(TemplateError::Limit {
                limit: Limit::Output | Limit::Memory,
            }) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(refused, 249);
}

/// Fuzz finding 2: one `repeat` built a 50 MB string in a single step, inside the memory budget,
/// so the deadline was only seen after it.
#[test]
fn a_50_megabyte_repeat_is_refused_before_it_is_built() {
    let mut budget = Budget::new(untimed());
    let source = format!(r#"{{{{ repeat 1048176 "{}" }}}}"#, "x".repeat(50));
    assert_eq!(budget.render(&source, &no_values()), limit(Limit::Memory));
}

#[test]
fn small_items_share_the_output_budget() {
    let limits = Limits {
        max_output: 10,
        ..untimed()
    };
    let mut budget = Budget::new(limits);
    let values = no_values();
    assert_eq!(
        budget.render("123456", &values).unwrap().expose(),
        b"123456"
    );
    assert_eq!(budget.render("1234", &values).unwrap().expose(), b"1234");
    assert_eq!(budget.render("x", &values), limit(Limit::Output));
}

#[test]
fn items_are_capped() {
    let limits = Limits {
        max_items: 3,
        ..untimed()
    };
    let mut budget = Budget::new(limits);
    let values = no_values();
    for _ in 0..3 {
        budget.render("x", &values).unwrap();
    }
    assert_eq!(budget.render("x", &values), limit(Limit::Items));
}

/// Issue: `deepEqual` on a list nested in itself 60 times compared 2^60 pairs. As in Go,
/// equal addresses and pairs already seen end the comparison: a few hundred work units.
#[test]
fn deep_equal_on_self_nested_lists_is_linear() {
    let limits = Limits {
        max_work: 5_000,
        ..untimed()
    };
    let values = no_values();
    let same =
        "{{ $a := list 0 }}{{ range until 60 }}{{ $a = list $a $a }}{{ end }}{{ deepEqual $a $a }}";
    assert_eq!(
        Budget::new(limits.clone())
            .render(same, &values)
            .unwrap()
            .expose(),
        b"true"
    );
    // Two separately built copies: no shared address, only the visited pairs help.
    let twins = "{{ $a := list 0 }}{{ $b := list 0 }}{{ range until 60 }}{{ $a = list $a $a }}{{ $b = list $b $b }}{{ end }}{{ deepEqual $a $b }}|{{ has $a (list $b) }}|{{ len (uniq (list $a $b $a)) }}|{{ len (without (list $a 1) $b) }}";
    assert_eq!(
        Budget::new(limits).render(twins, &values).unwrap().expose(),
        b"true|true|1|1"
    );
}

/// `has`, `without` and `uniq` compare inside their loops: that work is charged.
#[test]
fn comparisons_inside_list_functions_are_charged() {
    let limits = Limits {
        max_work: 20_000,
        ..untimed()
    };
    let values = no_values();
    let source = "{{ $l := list }}{{ range until 100 }}{{ $l = append $l (list 1 2) }}{{ end }}{{ range until 200 }}{{ $_ := has (list 1 3) $l }}{{ end }}";
    assert_eq!(
        Budget::new(limits).render(source, &values),
        limit(Limit::Work)
    );
}

/// `uniq` compared every element with every kept one: 20,000 distinct elements took
/// 200 million comparisons. Scalars are now found by hash.
#[test]
fn uniq_of_many_distinct_scalars_is_linear() {
    let limits = Limits {
        max_work: 200_000,
        ..untimed()
    };
    let values = no_values();
    let source = r#"{{ until 20000 | uniq | len }}|{{ splitList "," (repeat 20000 "a,b,c,") | uniq | len }}|{{ list 1 1.0 "1" 1 nil nil | uniq | len }}"#;
    assert_eq!(
        Budget::new(limits)
            .render(source, &values)
            .unwrap()
            .expose(),
        b"20000|4|4"
    );
}

#[test]
fn substring_search_is_charged_by_length() {
    let limits = Limits {
        max_work: 1_000,
        ..untimed()
    };
    let big = vec![b'a'; 1 << 20];
    let values = BTreeMap::from([("big".to_owned(), big.as_slice())]);
    let source = r#"{{ range until 1000 }}{{ $_ := contains "b" $.big }}{{ end }}"#;
    assert_eq!(
        Budget::new(limits).render(source, &values),
        limit(Limit::Work)
    );
}

#[test]
fn the_deadline_stops_a_long_render() {
    let limits = Limits {
        deadline: Duration::from_millis(20),
        max_work: u64::MAX,
        ..Limits::default()
    };
    let values = no_values();
    let mut budget = Budget::new(limits);
    let spin = "{{ range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}";
    assert_eq!(budget.render(spin, &values), limit(Limit::Deadline));
    // Once past the deadline, every further item of the object fails at once.
    assert_eq!(budget.render("x", &values), limit(Limit::Deadline));
}

#[test]
fn a_zero_deadline_renders_nothing() {
    let limits = Limits {
        deadline: Duration::ZERO,
        ..Limits::default()
    };
    assert_eq!(
        Budget::new(limits).render("x", &no_values()),
        limit(Limit::Deadline)
    );
}

/// derivePassword's scrypt needs 32 MiB at once: more than an object of the controller may use
/// (the README says so).
#[test]
fn derive_password_is_over_the_default_memory_budget() {
    let mut budget = Budget::new(untimed());
    let source = r#"{{ derivePassword 1 "long" "password" "user" "example.com" }}"#;
    assert_eq!(budget.render(source, &no_values()), limit(Limit::Memory));
}

/// Key generation and password hashing run in one step, past any deadline check: a template
/// of RSA keys held a worker for seconds under a 100 ms deadline. They start only when the time
/// they may take is left.
#[test]
fn one_step_operations_that_cannot_finish_before_the_deadline_do_not_start() {
    for source in [
        r#"{{ genPrivateKey "rsa" }}"#,
        r#"{{ genCA "ca" 365 }}"#,
        r#"{{ bcrypt "password" }}"#,
    ] {
        let limits = Limits {
            deadline: Duration::from_millis(50),
            ..Limits::default()
        };
        let mut budget = Budget::new(limits);
        assert_eq!(
            budget.render(source, &no_values()),
            limit(Limit::Deadline),
            "{source}"
        );
    }
    // With the time they take left, they run.
    let mut budget = Budget::new(untimed());
    let key = budget
        .render(r#"{{ genPrivateKey "ecdsa" }}"#, &no_values())
        .unwrap();
    assert!(key.expose().starts_with(b"-----BEGIN EC PRIVATE KEY-----"));
}
