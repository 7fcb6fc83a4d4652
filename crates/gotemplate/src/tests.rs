use std::collections::BTreeMap;

use std::time::Duration;

use super::{Budget, Limit, Limits, TemplateError, render};

fn vals(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

/// Default limits without the wall-clock deadline, so that no result depends on the speed of
/// the machine running the tests.
fn untimed() -> Limits {
    Limits {
        deadline: Duration::from_secs(3600),
        ..Limits::default()
    }
}

fn run(src: &str, pairs: &[(&str, &[u8])]) -> Result<Vec<u8>, TemplateError> {
    let owned = vals(pairs);
    let m: BTreeMap<String, &[u8]> = owned
        .iter()
        .map(|(k, v)| (k.clone(), v.as_slice()))
        .collect();
    Budget::new(untimed())
        .render(src, &m)
        .map(|z| z.expose().to_vec())
}

fn ok(src: &str, pairs: &[(&str, &[u8])]) -> String {
    match run(src, pairs) {
        Ok(v) => String::from_utf8_lossy(&v).into_owned(),
        Err(e) => panic!("template {src:?} failed: {e}"),
    }
}

const STD: &[(&str, &[u8])] = &[
    ("foo", b"bar"),
    ("password", b"a\"b"),
    ("user", b"admin"),
    ("csv", b"a,b,c"),
    ("num", b"42"),
    ("empty", b""),
    ("json", br#"{"a":{"b":[1,2.5,"x"]},"n":null}"#),
];

#[test]
fn table() {
    let cases: &[(&str, &str)] = &[
        // upstream examples
        (r#"secret {{ index . "foo" }} !"#, "secret bar !"),
        ("{{ toJson .password }}", r#""a\"b""#),
        ("plain text", "plain text"),
        ("", ""),
        ("{{ .missing }}", "<no value>"),
        (r#"{{ index . "missing" }}"#, ""),
        ("{{ .missing.deeper }}", "<no value>"),
        // trim markers and comments
        ("a  {{- .foo -}}  b", "abarb"),
        ("a \n{{- /* comment */ -}}\n b", "ab"),
        ("a {{/* c */}} b", "a  b"),
        ("{{- .foo }}\n", "bar\n"),
        ("x {{-3}}", "x -3"),
        // literals
        (
            "{{ 1 }} {{ -2 }} {{ 1.5 }} {{ 0x1F }} {{ 1e3 }} {{ 'a' }} {{ true }} {{ 0o17 }} {{ 1_000 }}",
            "1 -2 1.5 31 1000 97 true 15 1000",
        ),
        (r#"{{ "a\tb\x41\u00e9" }}"#, "a\tbA\u{e9}"),
        ("{{ `raw\\n` }}", "raw\\n"),
        (
            "{{ 1000000.0 }} {{ 123456.0 }} {{ 0.000001 }} {{ 1.0 }}",
            "1e+06 123456 1e-06 1",
        ),
        // variables
        ("{{ $x := .foo }}{{ $x }}{{ $x = \"q\" }}{{ $x }}", "barq"),
        ("{{ $ := . }}{{ with .foo }}{{ $.user }}{{ end }}", "admin"),
        (
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
            "2",
        ),
        // if/else
        ("{{ if .foo }}yes{{ else }}no{{ end }}", "yes"),
        ("{{ if .empty }}yes{{ else }}no{{ end }}", "no"),
        (
            "{{ if .missing }}a{{ else if .empty }}b{{ else if .foo }}c{{ else }}d{{ end }}",
            "c",
        ),
        (
            "{{ if and .foo .user }}{{ if not .empty }}nested{{ end }}{{ end }}",
            "nested",
        ),
        ("{{ with .foo }}{{ . }}{{ else }}none{{ end }}", "bar"),
        (
            "{{ with .missing }}{{ . }}{{ else with .user }}{{ . }}{{ end }}",
            "admin",
        ),
        (
            "{{ and 1 0 2 }} {{ or 0 \"\" .foo }} {{ and 1 2 }}",
            "0 bar 2",
        ),
        // range
        (
            r#"{{ range splitList "," .csv }}[{{ . }}]{{ end }}"#,
            "[a][b][c]",
        ),
        (
            r#"{{ range $i, $v := splitList "," .csv }}{{ $i }}={{ $v }};{{ end }}"#,
            "0=a;1=b;2=c;",
        ),
        (
            "{{ range $k, $v := . }}{{ if eq $k \"foo\" \"user\" }}{{ $k }}:{{ $v }} {{ end }}{{ end }}",
            "foo:bar user:admin ",
        ),
        ("{{ range list }}x{{ else }}empty{{ end }}", "empty"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        (
            "{{ range $i := until 10 }}{{ if eq $i 2 }}{{ continue }}{{ end }}{{ if gt $i 4 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
            "0134",
        ),
        // define/template/block
        (
            r#"{{ define "t" }}<{{ . }}>{{ end }}{{ template "t" .foo }}"#,
            "<bar>",
        ),
        (r#"{{ block "b" .user }}[{{ . }}]{{ end }}"#, "[admin]"),
        // comparisons
        (
            "{{ eq .foo \"bar\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}",
            "true true true true true false",
        ),
        ("{{ eq .missing \"x\" }}", "false"),
        ("{{ eq (len .foo) 3 }} {{ eq (add 1 2) 3 }}", "true true"),
        // builtins
        (
            "{{ len .csv }} {{ index .foo 0 }} {{ index (list 1 2 3) 1 }}",
            "5 98 2",
        ),
        ("{{ print 1 2 \"a\" \"b\" 3 }}", "1 2ab3"),
        ("{{ println 1 \"a\" }}", "1 a\n"),
        (
            "{{ printf \"%s-%d-%q-%v-%x-%X-%5.2f-%t-%05d-%-4s|\" .foo 42 .password 1.5 \"hi\" 255 3.14159 true 42 \"ab\" }}",
            "bar-42-\"a\\\"b\"-1.5-6869-FF- 3.14-true-00042-ab  |",
        ),
        ("{{ printf \"%d %s\" \"x\" }}", "%!d(string=x) %!s(MISSING)"),
        (
            "{{ printf \"%e %g %.3g %08.3f %+d\" 123456.789 0.00001 3.14159 -3.14159 5 }}",
            "1.234568e+05 1e-05 3.14 -003.142 +5",
        ),
        (
            "{{ printf \"%v %v\" (list 1 \"a\" nil) (dict \"b\" 2 \"a\" 1) }}",
            "[1 a <nil>] map[a:1 b:2]",
        ),
        (
            "{{ html \"<a href='x'>&\\\"\" }}",
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;",
        ),
        (
            "{{ js \"a'b\\\"c<d>&=\\\\\" }}",
            "a\\'b\\\"c\\u003Cd\\u003E\\u0026\\u003D\\\\",
        ),
        ("{{ urlquery \"a b&c=d/é\" }}", "a+b%26c%3Dd%2F%C3%A9"),
        ("{{ .foo | printf \"%s!\" }}", "bar!"),
        ("{{ \"x\" | printf \"%s%s\" \"y\" }}", "yx"),
        // sprig strings
        (
            "{{ trim \"  a b  \" }}|{{ trimAll \"$\" \"$$a$\" }}|{{ trimPrefix \"a\" \"aab\" }}|{{ trimSuffix \"b\" \"abb\" }}",
            "a b|a|ab|ab",
        ),
        (
            "{{ upper .foo }} {{ lower \"ABC\" }} {{ title \"hello wORld-x\" }} {{ untitle \"Hello World\" }}",
            "BAR abc Hello WORld-X hello world",
        ),
        (
            "{{ repeat 3 \"ab\" }} {{ substr 1 3 \"abcdef\" }} {{ nospace \"a b\\tc\" }} {{ trunc 3 \"abcdef\" }} {{ trunc -2 \"abcdef\" }}",
            "ababab bc abc abc ef",
        ),
        (
            "{{ abbrev 5 \"hello world\" }} {{ abbrevboth 5 10 \"1234 5678 9123\" }} {{ initials \"First Try\" }}",
            "he... ...5678... FT",
        ),
        (
            "{{ wrap 5 \"Hello World\" }}|{{ wrapWith 5 \"\\t\" \"Hello World\" }}",
            "Hello\nWorld|Hello\tWorld",
        ),
        (
            "{{ contains \"cat\" \"catch\" }} {{ hasPrefix \"ca\" \"cat\" }} {{ hasSuffix \"at\" \"cat\" }}",
            "true true true",
        ),
        (
            "{{ quote .foo 1 nil }} {{ squote .foo }} {{ cat \"a\" nil 1 \"b\" }}",
            "\"bar\" \"1\" 'bar' a 1 b",
        ),
        (
            "{{ indent 2 \"a\\nb\" }}|{{ nindent 2 \"a\" }}",
            "  a\n  b|\n  a",
        ),
        (
            "{{ replace \" \" \"-\" \"a b c\" }} {{ plural \"one\" \"many\" 1 }} {{ plural \"one\" \"many\" 2 }}",
            "a-b-c one many",
        ),
        (
            "{{ snakecase \"FirstName\" }} {{ snakecase \"HTTPServer\" }} {{ kebabcase \"NoHTTPS\" }} {{ camelcase \"http_server\" }} {{ swapcase \"This Is A.Test\" }}",
            "first_name http_server no-https HttpServer tHIS iS a.tEST",
        ),
        (
            "{{ snakecase \"http2xx\" }} {{ snakecase \"HTTP20xOK\" }} {{ snakecase \"Duration2m3s\" }} {{ snakecase \"Bld4Floor3rd\" }}",
            "http_2xx http_20x_ok duration_2m3s bld4_floor_3rd",
        ),
        (
            "{{ toString 1 }} {{ toString .foo }} {{ toStrings (list 1 \"a\" nil) }}",
            "1 bar [1 a]",
        ),
        (
            "{{ $p := split \"$\" \"foo$bar$baz\" }}{{ $p._0 }}{{ $p._2 }} {{ (splitn \"$\" 2 \"a$b$c\")._1 }}",
            "foobaz b$c",
        ),
        (
            "{{ join \"-\" (list \"a\" 1 nil) }} {{ sortAlpha (list \"c\" \"a\" \"b\") }}",
            "a-1 [a b c]",
        ),
        // encoding / hashes
        (
            "{{ b64enc .foo }} {{ b64dec \"YmFy\" }} {{ b64enc .foo | b64dec }} {{ b64dec \"!!\" }}",
            "YmFy bar bar illegal base64 data at input byte 0",
        ),
        (
            "{{ b32enc .foo }} {{ b32dec \"MJQXE===\" }}",
            "MJQXE=== bar",
        ),
        (
            "{{ sha1sum \"abc\" }}",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ),
        (
            "{{ sha256sum \"abc\" }}",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        ("{{ adler32sum \"Wikipedia\" }}", "300286872"),
        (
            "{{ toJson (dict \"b\" (list 1 2.5 nil true) \"a\" \"<&>\") }}",
            r#"{"a":"\u003c\u0026\u003e","b":[1,2.5,null,true]}"#,
        ),
        ("{{ toRawJson (dict \"a\" \"<&>\") }}", r#"{"a":"<&>"}"#),
        (
            "{{ toPrettyJson (dict \"a\" (list 1) \"b\" (dict)) }}",
            "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}",
        ),
        (
            "{{ $j := fromJson .json }}{{ $j.a.b }} {{ index $j.a.b 1 }} {{ $j.n }} {{ typeOf $j }}",
            "[1 2.5 x] 2.5 <no value> map[string]interface {}",
        ),
        ("{{ fromJson \"{bad\" }}", "<no value>"),
        (
            "{{ toJson 1e21 }} {{ toJson 0.0000001 }} {{ toJson 100 }}",
            "1e+21 1e-7 100",
        ),
        // defaults
        (
            "{{ .missing | default \"dflt\" }} {{ .foo | default \"dflt\" }} {{ default \"d\" .empty }}",
            "dflt bar d",
        ),
        (
            "{{ empty .empty }} {{ empty 0 }} {{ empty (list) }} {{ coalesce .empty 0 .foo }} {{ ternary \"y\" \"n\" true }}",
            "true true true bar y",
        ),
        (
            "{{ all 1 \"a\" }} {{ any 0 \"\" }} {{ compact (list 1 0 \"\" \"a\") }}",
            "true false [1 a]",
        ),
        // lists
        (
            "{{ list 1 2 3 }} {{ first (list 1 2) }} {{ last (list 1 2) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}",
            "[1 2 3] 1 2 [2 3] [1 2]",
        ),
        (
            "{{ append (list 1) 2 }} {{ prepend (list 1) 0 }} {{ concat (list 1) (list 2 3) }} {{ reverse (list 1 2 3) }}",
            "[1 2] [0 1] [1 2 3] [3 2 1]",
        ),
        (
            "{{ uniq (list 1 1 2) }} {{ without (list 1 2 3) 2 }} {{ has 2 (list 1 2) }} {{ slice (list 1 2 3 4) 1 3 }}",
            "[1 2] [1 3] true [2 3]",
        ),
        (
            "{{ until 3 }} {{ untilStep 0 10 3 }} {{ seq 3 }} {{ seq 5 -1 3 }} {{ chunk 2 (list 1 2 3) }}",
            "[0 1 2] [0 3 6 9] 1 2 3 5 4 3 [[1 2] [3]]",
        ),
        ("{{ first (list) }}", "<no value>"),
        // dicts
        (
            "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ $d }} {{ get $d \"a\" }} {{ hasKey $d \"b\" }} {{ keys $d }}",
            "map[a:1 b:2] 1 true [a b]",
        ),
        (
            "{{ $d := dict \"a\" 1 \"b\" 2 \"c\" 3 }}{{ pick $d \"a\" \"c\" }} {{ omit $d \"a\" }} {{ values $d }} {{ unset $d \"b\" }}",
            "map[a:1 c:3] map[b:2 c:3] [1 2 3] map[a:1 c:3]",
        ),
        (
            "{{ pluck \"a\" (dict \"a\" 1) (dict \"a\" 2) (dict) }}",
            "[1 2]",
        ),
        (
            "{{ merge (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"y\" 2)) }}",
            "map[a:1 b:3 n:map[x:1 y:2]]",
        ),
        (
            "{{ mergeOverwrite (dict \"a\" 1) (dict \"a\" 2) }}",
            "map[a:2]",
        ),
        (
            "{{ dig \"a\" \"b\" \"dflt\" (dict \"a\" (dict \"b\" 5)) }} {{ dig \"x\" \"dflt\" (dict) }}",
            "5 dflt",
        ),
        (
            "{{ $d := dict \"a\" (list 1) }}{{ $c := deepCopy $d }}{{ $_ := set $c \"a\" 2 }}{{ $d.a }}",
            "[1]",
        ),
        // math
        (
            "{{ add 1 2 3 }} {{ add1 1 }} {{ sub 5 3 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 }} {{ max 1 5 3 }} {{ min 4 2 }}",
            "6 2 2 24 3 1 5 2",
        ),
        (
            "{{ add \"3\" 1.9 }} {{ int \"12\" }} {{ int64 \"0x10\" }} {{ float64 \"1.5\" }} {{ atoi \"42\" }} {{ atoi \"x\" }} {{ int \"3.0\" }}",
            "4 12 16 1.5 42 0 3",
        ),
        (
            "{{ floor 1.5 }} {{ ceil 1.2 }} {{ round 3.14159 2 }} {{ maxf 1 2.5 }} {{ minf 1 2.5 }} {{ toDecimal \"0777\" }}",
            "1 2 3.14 2.5 1 511",
        ),
        // regex
        (
            "{{ regexMatch \"^[a-z]+\\\\d$\" \"abc1\" }} {{ regexFind \"[0-9]+\" \"ab12cd34\" }} {{ regexFindAll \"[0-9]\" \"a1b2c3\" 2 }}",
            "true 12 [1 2]",
        ),
        (
            "{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }} {{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}\" }}",
            "-W-xxW- -${1}-${1}-",
        ),
        (
            "{{ regexSplit \"z+\" \"pizza\" -1 }} {{ regexSplit \"z+\" \"pizza\" 1 }} {{ regexQuoteMeta \"1.2+\" }}",
            "[pi a] [pizza] 1\\.2\\+",
        ),
        (
            "{{ regexMatch \"\\\\w\" \"é\" }} {{ regexMatch \"\\\\d\" \"٣\" }}",
            "false false",
        ),
        // reflection
        (
            "{{ typeOf 1 }} {{ typeOf (add 1 1) }} {{ typeOf .foo }} {{ typeOf (list) }} {{ typeOf . }} {{ kindOf (dict) }} {{ typeOf (splitList \",\" \"a\") }}",
            "int int64 string []interface {} map[string]string map []string",
        ),
        (
            "{{ typeIs \"string\" .foo }} {{ kindIs \"slice\" (list) }} {{ deepEqual (list 1) (list 1) }} {{ deepEqual 1 (add 1 0) }}",
            "true true true false",
        ),
        // paths
        (
            "{{ base \"/a/b.txt\" }} {{ dir \"/a/b.txt\" }} {{ ext \"x/b.tar.gz\" }} {{ clean \"a//b/../c/.\" }} {{ isAbs \"/x\" }}",
            "b.txt /a .gz a/c true",
        ),
        ("{{ hello }}", "Hello!"),
    ];
    let mut failures = Vec::new();
    for (src, want) in cases {
        match run(src, STD) {
            Ok(got) => {
                if got != want.as_bytes() {
                    failures.push(format!(
                        "{src:?}\n   got  {:?}\n   want {want:?}",
                        String::from_utf8_lossy(&got)
                    ));
                }
            }
            Err(e) => failures.push(format!("{src:?}\n   error {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_values() {
    let m = BTreeMap::new();
    assert_eq!(
        render("hello {{ .x }}", &m).unwrap().expose(),
        b"hello <no value>"
    );
    assert_eq!(render("{{ len . }}", &m).unwrap().expose(), b"0");
}

#[test]
fn non_utf8_passthrough() {
    let bin: &[u8] = &[0xff, 0x00, 0xc3, 0x28, b'a', 0x80];
    let out = run("<{{ .bin }}>", &[("bin", bin)]).unwrap();
    let mut want = b"<".to_vec();
    want.extend_from_slice(bin);
    want.push(b'>');
    assert_eq!(out, want);
    // b64 round trip of binary is byte exact
    let out = run("{{ .bin | b64enc | b64dec }}", &[("bin", bin)]).unwrap();
    assert_eq!(out, bin);
    // JSON replaces invalid UTF-8 with \ufffd like Go
    let out = run("{{ toJson .bin }}", &[("bin", bin)]).unwrap();
    assert_eq!(out, b"\"\\ufffd\\u0000\\ufffd(a\\ufffd\"");
    // upper goes through strings.Map: invalid bytes become U+FFFD
    let out = run("{{ upper .bin }}", &[("bin", &[b'a', 0xff, 0xc3, 0xa9])]).unwrap();
    assert_eq!(out, "A\u{FFFD}\u{C9}".as_bytes());
}

fn is_parse(e: &TemplateError) -> bool {
    matches!(e, TemplateError::Parse { .. })
}

#[test]
fn undefined_functions() {
    for f in [
        "env",
        "expandenv",
        "getHostByName",
        "required",
        "nosuchfunc",
    ] {
        let e = run(&format!("{{{{ {f} \"HOME\" }}}}"), STD).unwrap_err();
        assert!(
            matches!(e, TemplateError::UnknownFunction { .. }),
            "{f}: {e}"
        );
        assert!(format!("{e}").contains("not defined"), "{f}: {e}");
    }
}

#[test]
fn env_is_undefined() {
    let e = run("{{ env \"PATH\" }}", STD).unwrap_err();
    assert!(
        format!("{e}").contains("function \"env\" not defined"),
        "{e}"
    );
}

#[test]
fn expandenv_is_undefined() {
    let e = run("{{ expandenv \"$PATH\" }}", STD).unwrap_err();
    assert!(
        format!("{e}").contains("function \"expandenv\" not defined"),
        "{e}"
    );
}

#[test]
fn get_host_by_name_is_undefined() {
    let e = run("{{ getHostByName \"localhost\" }}", STD).unwrap_err();
    assert!(
        format!("{e}").contains("function \"getHostByName\" not defined"),
        "{e}"
    );
}

#[test]
fn functions_run_only_when_reached() {
    // key generation is charged far more work than this budget has: it must not run
    let limits = Limits {
        max_work: 10_000,
        ..untimed()
    };
    let data = BTreeMap::new();
    let out = Budget::new(limits.clone())
        .render(
            "{{ if false }}{{ genPrivateKey \"rsa\" }}{{ end }}ok",
            &data,
        )
        .expect("not reached, not run");
    assert_eq!(out.expose(), b"ok");
    let err = Budget::new(limits)
        .render("{{ if true }}{{ genPrivateKey \"rsa\" }}{{ end }}ok", &data)
        .expect_err("reached: charged");
    assert!(
        matches!(err, TemplateError::Limit { limit: Limit::Work }),
        "{err}"
    );
}

#[test]
fn parse_errors() {
    let cases = [
        "{{ .foo ",
        "{{ if .foo }}",
        "{{ end }}",
        "{{ else }}",
        "{{ $x }}",
        "{{ break }}",
        "{{ \"a\" | \"b\" }}",
        "{{ ( .foo }}",
        "{{ .foo ) }}",
        "{{ 1.2.3 }}",
        "{{ \"unterminated }}",
        "{{/* unclosed }}",
        "{{ range $a, $b, $c := . }}{{ end }}",
        "{{ define \"x\" }}",
        "{{ 1i }}",
        "{{ 99999999999999999999 }}",
    ];
    for src in cases {
        let e = run(src, STD).unwrap_err();
        assert!(is_parse(&e), "{src}: {e}");
    }
}

#[test]
fn exec_errors() {
    let cases = [
        "{{ .foo.bar }}",
        "{{ fail \"boom\" }}",
        "{{ div 1 0 }}",
        "{{ mod 1 0 }}",
        "{{ index . 1 }}",
        "{{ index (list 1) 5 }}",
        "{{ lt 1 \"a\" }}",
        "{{ eq 1 \"a\" }}",
        "{{ repeat (add 1 2) \"x\" }}",
        "{{ upper 1 }}",
        "{{ upper .missing }}",
        "{{ hasKey . \"foo\" }}",
        "{{ template \"nope\" }}",
        "{{ call .foo }}",
        "{{ first \"abc\" }}",
        "{{ substr 5 2 \"abc\" }}",
        "{{ range .foo }}{{ end }}",
        "{{ nil }}",
        "{{ . . }}",
        "{{ and }}",
        "{{ .foo 1 }}",
        "{{ regexFind \"(\" \"x\" }}",
        "{{ repeat -1 \"x\" }}",
        "{{ mustToJson (list (float64 \"NaN\")) }}",
        "{{ toRawJson (float64 \"Inf\") }}",
        "{{ set nil \"a\" 1 }}",
        "{{ printf 1 }}",
    ];
    for src in cases {
        match run(src, STD) {
            Err(TemplateError::Exec { .. }) => {}
            other => panic!("{src}: expected exec error, got {other:?}"),
        }
    }
}

#[test]
fn errors_never_contain_values() {
    const SECRET: &str = "hunter2-SECRET";
    let pairs: &[(&str, &[u8])] = &[
        ("pw", SECRET.as_bytes()),
        ("n", b"hunter2-SECRET"),
        ("j", br#"{"hunter2-SECRET":1}"#),
    ];
    let cases = [
        "{{ fail .pw }}",
        "{{ fail (printf \"%s\" .pw) }}",
        "{{ .pw.field }}",
        "{{ index .pw 99 }}",
        "{{ eq .pw 1 }}",
        "{{ lt .pw 1 }}",
        "{{ range .pw }}{{ end }}",
        "{{ upper (list .pw) }}",
        "{{ repeat .pw \"x\" }}",
        "{{ div .pw 0 }}",
        "{{ regexMatch .pw \"x\" | mustRegexFind .pw }}",
        "{{ mustRegexFind (printf \"(%s\" .pw) \"x\" }}",
        "{{ mustFromJson .pw }}",
        "{{ $d := fromJson .j }}{{ $d.x.y }}{{ index $d 1 }}",
        "{{ hasKey . .pw }}",
        "{{ template .pw }}",
        "{{ substr 10 1 .pw }}",
        "{{ first .pw }}",
        "{{ slice .pw 1 }}",
        "{{ call .pw }}",
        "{{ .pw 1 }}",
        "{{ dig .pw \"x\" .pw }}",
        "{{ len (index . .pw) | add1 | repeat }}",
        "{{ repeat 100000000 .pw }}",
        "{{ range until 100000000 }}{{ $.pw }}{{ end }}",
        "{{ range $i := until 1000000 }}{{ $.pw }}{{ $.pw }}{{ end }}",
        "{{ mustToJson (list .pw (float64 \"NaN\")) }}",
        "{{ set nil .pw 1 }}",
        "{{ chunk 0 (list .pw) }}",
        "{{ mustPush .pw 1 }}",
        "{{ concat .pw }}",
        "{{ len 3 }}",
        "{{ index nil .pw }}",
        "{{ indent -1 .pw }}",
    ];
    for src in cases {
        let owned = vals(pairs);
        let m: BTreeMap<String, &[u8]> = owned
            .iter()
            .map(|(k, v)| (k.clone(), v.as_slice()))
            .collect();
        let e = match render(src, &m) {
            Err(e) => e,
            Ok(out) => panic!("{src}: expected error, got {} bytes", out.len()),
        };
        let d = format!("{e}");
        let dbg = format!("{e:?}");
        assert!(
            !d.contains("hunter2") && !d.contains("SECRET"),
            "{src}: {d}"
        );
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("SECRET"),
            "{src}: {dbg}"
        );
    }
    // values' Debug output is redacted
    let v = super::value::Value::str(SECRET.as_bytes());
    assert!(!format!("{v:?}").contains("hunter2"));
}

#[test]
fn limits() {
    // deep nesting is an error, not a stack overflow
    let deep = "{{ (1) }}";
    assert_eq!(ok(deep, STD), "1");
    let nested_parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(
        run(&nested_parens, STD),
        Err(TemplateError::Limit { .. })
    ));
    let nested_if = format!(
        "{}x{}",
        "{{ if true }}".repeat(5000),
        "{{ end }}".repeat(5000)
    );
    assert!(matches!(
        run(&nested_if, STD),
        Err(TemplateError::Limit { .. })
    ));
    let recursive = r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#;
    assert!(matches!(
        run(recursive, STD),
        Err(TemplateError::Limit { .. })
    ));
    // nesting just under the limit still works
    let ok_parens = format!("{{{{ {}1{} }}}}", "(".repeat(90), ")".repeat(90));
    assert_eq!(ok(&ok_parens, STD), "1");
    let ok_ifs = format!("{}x{}", "{{ if true }}".repeat(90), "{{ end }}".repeat(90));
    assert_eq!(ok(&ok_ifs, STD), "x");
    // deeply nested lists are refused (no deep recursion on drop)
    let deep_list = "{{ $l := list }}{{ range until 100000 }}{{ $l = list $l }}{{ end }}";
    assert!(matches!(
        run(deep_list, STD),
        Err(TemplateError::Limit { .. })
    ));
    let deep_dict = "{{ $d := dict }}{{ range until 40000 }}{{ $d = dict \"x\" (list $d) }}{{ end }}{{ len $d }}";
    assert_eq!(ok(deep_dict, STD), "1");
    // empty-string repeat and huge zero padding terminate quickly
    assert_eq!(
        ok(
            "{{ repeat 1000000000000 \"\" }}|{{ len (printf \"%0999999d\" 1) }}",
            STD
        ),
        "|999999"
    );
    // huge allocations are errors, not OOMs
    assert!(matches!(
        run("{{ repeat 100000000 \"x\" }}", STD),
        Err(TemplateError::Limit { .. })
    ));
    assert!(matches!(
        run("{{ range until 100000000 }}{{ end }}", STD),
        Err(TemplateError::Limit { .. })
    ));
    assert!(matches!(
        run("{{ range 100000000 }}{{ end }}", STD),
        Err(TemplateError::Limit { .. })
    ));
    // output cap
    assert!(matches!(
        run(
            "{{ range until 100000 }}{{ repeat 100 \"x\" }}{{ end }}",
            STD
        ),
        Err(TemplateError::Limit { .. })
    ));
    // self-referential maps don't loop forever or leak
    let cyc = "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ $d }}";
    assert!(matches!(run(cyc, STD), Err(TemplateError::Limit { .. })));
    let cyc_json = "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ toJson $d }}";
    assert_eq!(ok(cyc_json, STD), "");
    // custom limits
    let lim = Limits {
        max_work: 100,
        ..untimed()
    };
    let m = BTreeMap::new();
    assert_eq!(
        Budget::new(lim).render("{{ range until 1000 }}{{ end }}", &m),
        Err(TemplateError::Limit { limit: Limit::Work })
    );
}

#[test]
fn execution_errors_name_the_function_and_nothing_else() {
    let e = run("line1\n  {{ .foo.bar }}", STD).unwrap_err();
    assert_eq!(e, TemplateError::Exec { function: None });
    assert_eq!(e.to_string(), "execution failed");
    let e = run("{{ index .password 99 }}", &[("password", b"hunter2")]).unwrap_err();
    assert_eq!(e.to_string(), "error calling index");
    let e = run("{{ .password | int | div 1 }}", &[("password", b"0")]).unwrap_err();
    assert_eq!(e.to_string(), "error calling div");
    let e = run("{{ fail .password }}", &[("password", b"hunter2")]).unwrap_err();
    assert_eq!(e.to_string(), "error calling fail");
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn never_panics(src in "[ -~\\n]{0,64}") {
            let _ = run(&src, STD);
        }

        #[test]
        fn never_panics_template_like(parts in proptest::collection::vec(prop_oneof![
            Just("{{"), Just("}}"), Just("{{-"), Just("-}}"), Just(" "), Just("."), Just(".foo"),
            Just("$x"), Just(":="), Just("="), Just("|"), Just("("), Just(")"), Just("if"), Just("else"),
            Just("end"), Just("range"), Just("with"), Just("define"), Just("template"), Just("block"),
            Just("break"), Just("continue"), Just("\"s\""), Just("`r`"), Just("'c'"), Just("1"), Just("-2.5"),
            Just("nil"), Just("true"), Just("printf"), Just("\"%v %d %s\""), Just("list"), Just("dict"),
            Just("index"), Just("len"), Just("and"), Just("or"), Just("not"), Just("eq"), Just("lt"),
            Just("until"), Just("repeat"), Just("toJson"), Just("fromJson"), Just("set"), Just("default"),
            Just("b64dec"), Just("regexFind"), Just("split"), Just("$"), Just(","), Just("/*"), Just("*/"),
            Just("substr"), Just("slice"), Just("first"), Just("merge"), Just("dig"), Just("add"), Just("div"),
        ], 0..40)) {
            let src: String = parts.concat();
            let _ = run(&src, STD);
        }

        #[test]
        fn text_without_actions_is_identity(s in "[^{]{0,64}") {
            prop_assert_eq!(run(&s, STD).unwrap(), s.as_bytes().to_vec());
        }
    }
}
