//! Sprig `url.go`: URL parsing and joining, with Go's `net/url` `Parse` and `URL.String`
//! (as of the Go release the parity corpus is checked with: strict colons in http(s) hosts).

use super::PT::{Map, Str};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("urlParse", sg(&[Str], None), url_parse),
    Func::call("urlJoin", sg(&[Map], None), url_join),
];

/// `net/url`'s escaping modes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    QueryComponent,
    Fragment,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::QueryComponent => true,
            Mode::Fragment => false,
            Mode::Host | Mode::Zone => true,
        },
        b'!' | b'(' | b')' | b'*' if mode == Mode::Fragment => false,
        _ => true,
    }
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.wrapping_sub(b'A').wrapping_add(10),
    }
}

/// Why a URL does not parse (Sprig panics with Go's message; the call fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UrlError;

/// Go's `unescape`.
fn unescape(s: &[u8], mode: Mode) -> Result<Vec<u8>, UrlError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        match c {
            b'%' => {
                let (Some(&h), Some(&l)) = (s.get(i + 1), s.get(i + 2)) else {
                    return Err(UrlError);
                };
                if !h.is_ascii_hexdigit() || !l.is_ascii_hexdigit() {
                    return Err(UrlError);
                }
                let is_pct25 = s.get(i..i + 3) == Some(b"%25");
                let v = (unhex(h) << 4) | unhex(l);
                if mode == Mode::Host && unhex(h) < 8 && !is_pct25 {
                    return Err(UrlError);
                }
                if mode == Mode::Zone && !is_pct25 && v != b' ' && should_escape(v, Mode::Host) {
                    return Err(UrlError);
                }
                out.push(v);
                i += 3;
            }
            b'+' => {
                out.push(if mode == Mode::QueryComponent {
                    b' '
                } else {
                    b'+'
                });
                i += 1;
            }
            _ => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(UrlError);
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Go's `escape`.
fn escape(s: &[u8], mode: Mode) -> Vec<u8> {
    const UPPERHEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if c == b' ' && mode == Mode::QueryComponent {
            out.push(b'+');
        } else if should_escape(c, mode) {
            out.push(b'%');
            out.push(UPPERHEX[usize::from(c >> 4)]);
            out.push(UPPERHEX[usize::from(c & 15)]);
        } else {
            out.push(c);
        }
    }
    out
}

/// `net/url.Userinfo`.
#[derive(Clone, Default)]
struct Userinfo {
    username: Vec<u8>,
    password: Option<Vec<u8>>,
}

impl Userinfo {
    fn string(&self) -> Vec<u8> {
        let mut s = escape(&self.username, Mode::UserPassword);
        if let Some(p) = &self.password {
            s.push(b':');
            s.extend(escape(p, Mode::UserPassword));
        }
        s
    }
}

/// The fields of `net/url.URL` that `urlParse` and `urlJoin` use.
#[derive(Clone, Default)]
struct Url {
    scheme: Vec<u8>,
    opaque: Vec<u8>,
    user: Option<Userinfo>,
    host: Vec<u8>,
    path: Vec<u8>,
    raw_path: Vec<u8>,
    raw_query: Vec<u8>,
    fragment: Vec<u8>,
    raw_fragment: Vec<u8>,
    force_query: bool,
    omit_host: bool,
}

fn find(s: &[u8], c: u8) -> Option<usize> {
    s.iter().position(|&x| x == c)
}

fn rfind(s: &[u8], c: u8) -> Option<usize> {
    s.iter().rposition(|&x| x == c)
}

fn cut(s: &[u8], c: u8) -> (&[u8], Option<&[u8]>) {
    match find(s, c) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// Go's `url.Parse`.
fn parse(raw: &[u8]) -> Result<Url, UrlError> {
    let (u, frag) = cut(raw, b'#');
    let mut url = parse_no_fragment(u)?;
    if let Some(f) = frag.filter(|f| !f.is_empty()) {
        url.fragment = unescape(f, Mode::Fragment)?;
        url.raw_fragment = if escape(&url.fragment, Mode::Fragment) == f {
            Vec::new()
        } else {
            f.to_vec()
        };
    }
    Ok(url)
}

/// Go's `getScheme`.
fn get_scheme(raw: &[u8]) -> Result<(&[u8], &[u8]), UrlError> {
    for (i, &c) in raw.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err(UrlError),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok((b"", raw)),
        }
    }
    Ok((b"", raw))
}

/// Go's `parse(rawURL, false)`.
fn parse_no_fragment(raw: &[u8]) -> Result<Url, UrlError> {
    if raw.iter().any(|&b| b < b' ' || b == 0x7f) {
        return Err(UrlError);
    }
    let mut url = Url::default();
    if raw == b"*" {
        url.path = b"*".to_vec();
        return Ok(url);
    }
    let (scheme, mut rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let questions = rest.iter().filter(|&&c| c == b'?').count();
    if rest.last() == Some(&b'?') && questions == 1 {
        url.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else {
        let (r, q) = cut(rest, b'?');
        rest = r;
        url.raw_query = q.unwrap_or_default().to_vec();
    }
    if !rest.starts_with(b"/") {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_vec();
            return Ok(url);
        }
        let (segment, _) = cut(rest, b'/');
        if find(segment, b':').is_some() {
            return Err(UrlError);
        }
    }
    let mut path = rest;
    if (!url.scheme.is_empty() || !rest.starts_with(b"///")) && rest.starts_with(b"//") {
        let mut authority = &rest[2..];
        path = b"";
        if let Some(i) = find(authority, b'/') {
            path = &authority[i..];
            authority = &authority[..i];
        }
        let (user, host) = parse_authority(&url.scheme, authority)?;
        url.user = user;
        url.host = host;
    } else if !url.scheme.is_empty() && rest.starts_with(b"/") {
        url.omit_host = true;
    }
    url.path = unescape(path, Mode::Path)?;
    url.raw_path = if escape(&url.path, Mode::Path) == path {
        Vec::new()
    } else {
        path.to_vec()
    };
    Ok(url)
}

/// Go's `validUserinfo`, over runes (an invalid UTF-8 byte is U+FFFD: invalid).
fn valid_userinfo(s: &[u8]) -> bool {
    s.iter().all(|&c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b':'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'@'
            )
    })
}

fn parse_authority(
    scheme: &[u8],
    authority: &[u8],
) -> Result<(Option<Userinfo>, Vec<u8>), UrlError> {
    let at = rfind(authority, b'@');
    let host = parse_host(scheme, at.map_or(authority, |i| &authority[i + 1..]))?;
    let Some(i) = at else {
        return Ok((None, host));
    };
    let userinfo = &authority[..i];
    if !valid_userinfo(userinfo) {
        return Err(UrlError);
    }
    let user = match cut(userinfo, b':') {
        (name, None) => Userinfo {
            username: unescape(name, Mode::UserPassword)?,
            password: None,
        },
        (name, Some(pw)) => Userinfo {
            username: unescape(name, Mode::UserPassword)?,
            password: Some(unescape(pw, Mode::UserPassword)?),
        },
    };
    Ok((Some(user), host))
}

/// Go's `validOptionalPort`.
fn valid_optional_port(port: &[u8]) -> bool {
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

fn parse_host(scheme: &[u8], host: &[u8]) -> Result<Vec<u8>, UrlError> {
    match rfind(host, b'[') {
        Some(i) if i > 0 => return Err(UrlError),
        Some(_) => {
            let close = rfind(host, b']').ok_or(UrlError)?;
            let colon_port = &host[close + 1..];
            if !valid_optional_port(colon_port) {
                return Err(UrlError);
            }
            let colon_port = unescape(colon_port, Mode::Host)?;
            let hostname = host.get(1..close).ok_or(UrlError)?;
            let zone_at = hostname.windows(3).position(|w| w == b"%25");
            let unescaped = match zone_at {
                Some(z) => {
                    let mut h = unescape(&hostname[..z], Mode::Host)?;
                    h.extend(unescape(&hostname[z..], Mode::Zone)?);
                    h
                }
                None => unescape(hostname, Mode::Host)?,
            };
            if !is_ipv6_literal(&unescaped) {
                return Err(UrlError);
            }
            let mut out = Vec::with_capacity(unescaped.len() + colon_port.len() + 2);
            out.push(b'[');
            out.extend(unescaped);
            out.push(b']');
            out.extend(colon_port);
            return Ok(out);
        }
        None => {}
    }
    if let Some(first) = find(host, b':') {
        let last = rfind(host, b':').unwrap_or(first);
        // Go 1.26 keeps colons in the host only for schemes other than http(s).
        let i = if last != first && scheme != b"http" && scheme != b"https" {
            last
        } else {
            first
        };
        if !valid_optional_port(&host[i..]) {
            return Err(UrlError);
        }
    }
    unescape(host, Mode::Host)
}

/// `netip.ParseAddr` succeeds and the address is not IPv4: an IPv6 address with an optional
/// non-empty zone.
fn is_ipv6_literal(s: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(s) else {
        return false;
    };
    let (addr, zone) = match s.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (s, None),
    };
    if zone.is_some_and(str::is_empty) {
        return false;
    }
    addr.parse::<std::net::Ipv6Addr>().is_ok()
}

/// Go's `splitHostPort` (for `Hostname`).
fn hostname(host: &[u8]) -> &[u8] {
    let mut h = host;
    if let Some(c) = rfind(h, b':')
        && valid_optional_port(&h[c..])
    {
        h = &h[..c];
    }
    if h.len() >= 2 && h.starts_with(b"[") && h.ends_with(b"]") {
        h = &h[1..h.len() - 1];
    }
    h
}

/// Go's `validEncoded`.
fn valid_encoded(s: &[u8], mode: Mode) -> bool {
    s.iter().all(|&c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(c, mode)
    })
}

/// `RawPath` / `RawFragment` when it is a valid encoding of the decoded field, else the
/// default encoding (Go's `EscapedPath` / `EscapedFragment`).
fn escaped(raw: &[u8], decoded: &[u8], mode: Mode) -> Vec<u8> {
    if !raw.is_empty()
        && valid_encoded(raw, mode)
        && unescape(raw, mode).is_ok_and(|p| p == decoded)
    {
        return raw.to_vec();
    }
    if mode == Mode::Path && decoded == b"*" {
        return b"*".to_vec();
    }
    escape(decoded, mode)
}

/// Go's `URL.String`.
fn to_string(u: &Url) -> Vec<u8> {
    let mut buf = Vec::new();
    if !u.scheme.is_empty() {
        buf.extend(&u.scheme);
        buf.push(b':');
    }
    if u.opaque.is_empty() {
        let no_authority = u.host.is_empty() && u.user.is_none();
        if !(no_authority && (u.scheme.is_empty() || u.omit_host)) {
            if !u.host.is_empty() || !u.path.is_empty() || u.user.is_some() {
                buf.extend(b"//");
            }
            if let Some(ui) = &u.user {
                buf.extend(ui.string());
                buf.push(b'@');
            }
            buf.extend(escape(&u.host, Mode::Host));
        }
        let path = escaped(&u.raw_path, &u.path, Mode::Path);
        if path.first().is_some_and(|&c| c != b'/') && !u.host.is_empty() {
            buf.push(b'/');
        }
        if buf.is_empty() {
            let (segment, _) = cut(&path, b'/');
            if find(segment, b':').is_some() {
                buf.extend(b"./");
            }
        }
        buf.extend(path);
    } else {
        buf.extend(&u.opaque);
    }
    if u.force_query || !u.raw_query.is_empty() {
        buf.push(b'?');
        buf.extend(&u.raw_query);
    }
    if !u.fragment.is_empty() {
        buf.push(b'#');
        buf.extend(escaped(&u.raw_fragment, &u.fragment, Mode::Fragment));
    }
    buf
}

fn url_parse(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let raw = s_arg(&a, 0)?;
    ex.charge_scan(raw.len().saturating_mul(8))?;
    let u = parse(raw).map_err(|_| e("unable to parse url"))?;
    let userinfo = u.user.as_ref().map(Userinfo::string).unwrap_or_default();
    let fields: [(&str, &[u8]); 8] = [
        ("scheme", &u.scheme),
        ("host", &u.host),
        ("hostname", hostname(&u.host)),
        ("path", &u.path),
        ("query", &u.raw_query),
        ("opaque", &u.opaque),
        ("fragment", &u.fragment),
        ("userinfo", &userinfo),
    ];
    let mut entries = BTreeMap::new();
    for (k, v) in fields {
        ex.alloc(v.len())?;
        entries.insert(SecretBytes::from_slice(k.as_bytes()), Value::str(v));
    }
    ex.new_map(ElemTy::Any, entries)
}

/// Sprig's `dictGetOrEmpty`: a missing key is empty, a value that is not a string fails.
fn dict_string(m: Option<&MapRef>, key: &str) -> Result<Vec<u8>, ErrKind> {
    let Some(m) = m else {
        return Ok(Vec::new());
    };
    let m = m.try_borrow().map_err(|_| e("map in use"))?;
    match m.entries.get(&SecretBytes::from_slice(key.as_bytes())) {
        None => Ok(Vec::new()),
        Some(Value::Str(s)) => Ok(s.as_bytes().to_vec()),
        Some(_) => Err(e("unable to parse key, must be of type string")),
    }
}

fn url_join(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let m = map_arg(&a, 0)?;
    let get = |k| dict_string(m.as_ref(), k);
    let mut u = Url {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        ..Url::default()
    };
    let userinfo = get("userinfo")?;
    let total = [
        &u.scheme,
        &u.host,
        &u.path,
        &u.raw_query,
        &u.opaque,
        &u.fragment,
    ]
    .iter()
    .map(|f| f.len())
    .sum::<usize>()
        + userinfo.len();
    ex.charge_scan(total.saturating_mul(8))?;
    if !userinfo.is_empty() {
        let mut probe = b"proto://".to_vec();
        probe.extend(&userinfo);
        probe.extend(b"@host");
        u.user = parse(&probe)
            .map_err(|_| e("unable to parse userinfo in dict"))?
            .user;
    }
    let out = to_string(&u);
    mk_bytes(ex, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &str) -> String {
        String::from_utf8(to_string(&parse(s.as_bytes()).expect("parses"))).expect("utf8")
    }

    #[test]
    fn string_reassembles_what_parse_split() {
        for s in [
            "https://user:pw@example.com:8080/p/a?q=1&r=2#frag",
            "mailto:joe@example.com",
            "/relative/path?x",
            "http://[fe80::1%25en0]:80/",
            "file:///etc/hosts",
            "http://h/a%2Fb",
            "?",
            "a/b#c%20d",
            "*",
        ] {
            assert_eq!(round_trip(s), s);
        }
        assert_eq!(round_trip("HTTP://h/ä"), "http://h/%C3%A4");
    }

    #[test]
    fn parse_rejects_what_go_rejects() {
        for s in [
            ":nope",
            "http://a b.com/",
            "http://h/%zz",
            "http://[::1/",
            "http://[1.2.3.4]/",
            "http://h:port/",
            "http://a:1:2/",
            "x:y/z\n",
            "1a:b/c",
        ] {
            assert!(parse(s.as_bytes()).is_err(), "{s}");
        }
        // colons in the host: strict for http(s) only
        assert!(parse(b"mongodb://a:1,b:2/db").is_ok());
    }
}
