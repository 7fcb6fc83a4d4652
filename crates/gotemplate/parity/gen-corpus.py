#!/usr/bin/env python3
"""Writes corpus.txt and inputs.txt: the templates both engines render, and their data.

The corpus is a matrix of every one-argument function over every input, plus hand-written
cases for the other functions and for every template action. Edit this file, run it, then
run ./check to regenerate the expectations with Go.
"""
import base64, os

here = os.path.dirname(os.path.abspath(__file__))

inputs = {
    "s": b"hello world",
    "empty": b"",
    "bin": b"\xff\xfe\x00a\xc3(",
    "utf8": "héllo wörld ✓ ǅx".encode(),
    "num": b"42",
    "neg": b"-7",
    "float": b"3.25",
    "json": b'{"a":1,"b":[1,2,"x"],"c":{"d":null},"e":"f"}',
    "big": b"abc " * 16384,
    "csv": b"a,b,,c",
    "ws": b"  padded\t\n",
    "b64": b"aGVsbG8gd29ybGQ=",
    "b32": b"NBSWY3DP",
    "ver": b"1.2.3",
    "url": b"https://user:pw@example.com:8080/p/a?q=1&r=2#frag",
    "date": b"2024-02-29T12:34:56Z",
    "camel": b"HelloWorld_fooBar baz-qux",
    "path": b"/a/b/../c/file.tar.gz",
}


# fixed keys and a CA certificate made by Go (test fixtures, not secrets), for the
# certificate functions' byte-exact cases
fixtures = {
    "rsa_key": '''-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAubzB1IHeGCbs+H0+Yz3ng2jMI+6qsfFsAi7AUYU3btsasBJb
E6Xlq9z9JIWNk2iDtjerv8i3uPC94xlpJ+FEUflBc9wQqQm/IimqpVV+TNbOpHqI
PCp2b/kQ1yLGHPsqBDVes2vjeGV+91FaCKVu7EBb5ISqgOxOuF057MXah5s+HCQl
TKYMo7GNAbgdsmC9j2FyVEBg3giNcwXZsExMTPz+wAUGs6j9BMo1GGx8S0pox2t3
GNTIUxr13e1k6ZxGhPyO2dAJcoDqOx2uJL81oRKKIxfzNUyDA95PqmooSSw2GPGN
vRTZsXUtCj3CCdjq3SCbZXQVSGc8E5dozc+LrwIDAQABAoIBAC05kkKhqofb9ohc
ypOUj6oWGtrG8sYoICH56zcORlyWOg3UMlv64Yzy3qqFYF8brDJypL2qbF26NKo2
1j1xItcI55CD7YSTTHhPh+8A/aNNDHzNHx3zQuppzVls7KtC1sy2iAwNAZKfuAYV
R2Rij7szwoxGZ1PD9jj67i9CT78DubkRtZ58lFWXP6vVW0X3cf9yIFlUXXGTz34Z
vVBTH7wONQkHXNpNZp21rIjjd9eEwKcZyMx9peHYUxKG0EvlTRDKUnnwOWV4VBba
wpKKlpgpLOJ8lddKcMofmGb/D+tUJqCevzTB3vFx0rjJTzmCkL/7AS52WcApucBl
9xqIeKkCgYEA72VsGLgRqt7flW6QEbKWSvmf5WBUsBXQcHea5YZkYGT4/DuOYP0E
Hij+vLcBYgN8J21BOg/Ggvqztcn4VpAHmuUZrW5pBib+N/6WmFv4/vm2SzbO9Ztl
rJTv3hDZrakH7EVzC8i8vmFCxvhpoooIWsppKy97m3fvDmIj1F1/z9cCgYEAxp6Z
ltcrWIR868YwAqQix183mnxHicRz/8k1bdBVQD9aQvDXSjhDp1NGiYdyhMeTWBQ0
REQkPDmngqQiUKquv5BmHvJhuLGWCN8jVVMAvBmo3VVK4uye9RkGa0UDKTYG2dQM
tk85bhR/fzDMYd7WpZPW5z9e/iRAm7Yf2nkHh+kCgYBNoGKb5Vv9P0Xay741ruYj
K6yYkVMEwh4TygTVNm3n//XovFsfwguKyBpKEUGGicDBfCDxddoV8LtDUFmRoCSH
KpDX9vxhPVWjzI8Cmpgz/b8Jxpz3cUtX2fep12buc+gYyjBS+uWRCjLAGB8Q0JeC
8S2HDl+TeyFuVY5ut17RgwKBgBOe0zlNZCDIZba8yz1XjX/4bfu6zy5S08quy7Jf
ZCyGlZoLRJk2WaiL12n6kVuAg5Ot20PrH1E7uMp1AFbLpZuS3iOsee7OzC1wLYNe
QbJTLpU+ubkU+tbnc/TgymElzyNxiRfxV5ECQV4FKgt5Aec1ZYNOhUnBtwgqw5bH
YfERAoGBAK2XJDgoUCBfv29VnZqJW4EMSb+rysN2Jh/x10VK+Hl3GtvsWAYSw8/Z
tzXc2TrncWOPIb4YuGKAtnUTbbBm/XCK3aC8zDmCoL/eA+wWsCHQYdRbNv0vnTco
loEQk05v74w0jZ9sT60VoDcgq2b9rQ8QMn0+z8X4MHD2MERJoRYc
-----END RSA PRIVATE KEY-----
''',
    "rsa_pkcs8": '''-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC5vMHUgd4YJuz4
fT5jPeeDaMwj7qqx8WwCLsBRhTdu2xqwElsTpeWr3P0khY2TaIO2N6u/yLe48L3j
GWkn4URR+UFz3BCpCb8iKaqlVX5M1s6keog8KnZv+RDXIsYc+yoENV6za+N4ZX73
UVoIpW7sQFvkhKqA7E64XTnsxdqHmz4cJCVMpgyjsY0BuB2yYL2PYXJUQGDeCI1z
BdmwTExM/P7ABQazqP0EyjUYbHxLSmjHa3cY1MhTGvXd7WTpnEaE/I7Z0AlygOo7
Ha4kvzWhEoojF/M1TIMD3k+qaihJLDYY8Y29FNmxdS0KPcIJ2OrdIJtldBVIZzwT
l2jNz4uvAgMBAAECggEALTmSQqGqh9v2iFzKk5SPqhYa2sbyxiggIfnrNw5GXJY6
DdQyW/rhjPLeqoVgXxusMnKkvapsXbo0qjbWPXEi1wjnkIPthJNMeE+H7wD9o00M
fM0fHfNC6mnNWWzsq0LWzLaIDA0Bkp+4BhVHZGKPuzPCjEZnU8P2OPruL0JPvwO5
uRG1nnyUVZc/q9VbRfdx/3IgWVRdcZPPfhm9UFMfvA41CQdc2k1mnbWsiON314TA
pxnIzH2l4dhTEobQS+VNEMpSefA5ZXhUFtrCkoqWmCks4nyV10pwyh+YZv8P61Qm
oJ6/NMHe8XHSuMlPOYKQv/sBLnZZwCm5wGX3Goh4qQKBgQDvZWwYuBGq3t+VbpAR
spZK+Z/lYFSwFdBwd5rlhmRgZPj8O45g/QQeKP68twFiA3wnbUE6D8aC+rO1yfhW
kAea5RmtbmkGJv43/paYW/j++bZLNs71m2WslO/eENmtqQfsRXMLyLy+YULG+Gmi
ighaymkrL3ubd+8OYiPUXX/P1wKBgQDGnpmW1ytYhHzrxjACpCLHXzeafEeJxHP/
yTVt0FVAP1pC8NdKOEOnU0aJh3KEx5NYFDRERCQ8OaeCpCJQqq6/kGYe8mG4sZYI
3yNVUwC8GajdVUri7J71GQZrRQMpNgbZ1Ay2TzluFH9/MMxh3talk9bnP17+JECb
th/aeQeH6QKBgE2gYpvlW/0/RdrLvjWu5iMrrJiRUwTCHhPKBNU2bef/9ei8Wx/C
C4rIGkoRQYaJwMF8IPF12hXwu0NQWZGgJIcqkNf2/GE9VaPMjwKamDP9vwnGnPdx
S1fZ96nXZu5z6BjKMFL65ZEKMsAYHxDQl4LxLYcOX5N7IW5Vjm63XtGDAoGAE57T
OU1kIMhltrzLPVeNf/ht+7rPLlLTyq7Lsl9kLIaVmgtEmTZZqIvXafqRW4CDk63b
Q+sfUTu4ynUAVsulm5LeI6x57s7MLXAtg15BslMulT65uRT61udz9ODKYSXPI3GJ
F/FXkQJBXgUqC3kB5zVlg06FScG3CCrDlsdh8RECgYEArZckOChQIF+/b1Wdmolb
gQxJv6vKw3YmH/HXRUr4eXca2+xYBhLDz9m3NdzZOudxY48hvhi4YoC2dRNtsGb9
cIrdoLzMOYKgv94D7BawIdBh1Fs2/S+dNyiWgRCTTm/vjDSNn2xPrRWgNyCrZv2t
DxAyfT7PxfgwcPYwREmhFhw=
-----END PRIVATE KEY-----
''',
    "ec_key": '''-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIEtCoCYYNjqnPhmq1V1o6GMwJQ7JLccO+jaHHyVaQ9uMoAoGCCqGSM49
AwEHoUQDQgAEf9s49/bJ5ouINAdHR5uQhYtD8Lr591/iphS3H/vhnKlevGWEkfan
Nya2eSAa/yp+Y2qtNkwrHYbnuvlQI+XJWA==
-----END EC PRIVATE KEY-----
''',
    "ec_pkcs8": '''-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgS0KgJhg2Oqc+GarV
XWjoYzAlDsktxw76NocfJVpD24yhRANCAAR/2zj39snmi4g0B0dHm5CFi0Pwuvn3
X+KmFLcf++GcqV68ZYSR9qc3JrZ5IBr/Kn5jaq02TCsdhue6+VAj5clY
-----END PRIVATE KEY-----
''',
    "ec384_key": '''-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDB693HXqVDR5pH9TAs2cPelXUiLBO/cBD9AA9OFIft/1yLoCLUp0gY7
f4kEfnfpnNCgBwYFK4EEACKhZANiAATshxoCBlm7/v99iwiP9BOZzc7nJdAFN56p
RCDK/8myOEXfNTWs5T8m2Cd2+uXy3AT9RcpUXR4YsQumXUjy94p8faZmDC/cYGNe
unacM6btg3FWgTxbkju374/4hYkHtDQ=
-----END EC PRIVATE KEY-----
''',
    "ed_key": '''-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIHF05Vg0dnp2d49Piz5gLJJc0VXfxV5V0fbPWBCUsdKP
-----END PRIVATE KEY-----
''',
    "dsa_key": '''-----BEGIN DSA PRIVATE KEY-----
MIIBvQIBAAKBgQCr27RV75Ho69e5omT1d8uY9r0zl/59+7OnpaOBRvoIv2TEK2eW
Ujw/aAvoVAsCA5vAMztIPmF0S4qaetK32jZxgqN2PXL+tDE51L16fy8DKz3owu2d
eU8/zZ4bsJaeH17EvJEw94e+9tFCeuIEtjKmCQ3QRiC1uIFJZ0cz1FtF9QIVAMjk
XOsrKuXdF2i7eZPuW2XRAprHAoGBAIp/039Wr9TjNWzAumcx6K/50707aa+sTcDw
MNjdvRJevMOIT1D/oNOhqlRNy+jNHBJ0HiUna3W3YInoFkNGCdh7QKz+R7YsKXET
mNuo2ctI6x2sv4n6VELJ1HcZfr+A2Kzu2/LVlMXCuvpRUGgPZA59LeZws8iAQJea
nxyvseLsAoGBAJAr5i0AFsuISGu5kLPRpalyL2hZSVt1VcIlBn2So3JRDUittNC0
WwOT3wipHkZRI280Wtg65TDQB3BHDN1sP/1wN5qHOYYZ3tFIVb/tZ1Z1C0PRApjk
YvBsSD44eCg1N0VQFKu26MmVQzAT4tOquQWtWdbavkjIfldhrgYm3nRBAhUAhqFJ
49EyGWtSuJK86gA/gaQm6FY=
-----END DSA PRIVATE KEY-----
''',
    "ca_cert": '''-----BEGIN CERTIFICATE-----
MIIC4zCCAcugAwIBAgIBBzANBgkqhkiG9w0BAQsFADATMREwDwYDVQQDEwhmaXhl
ZC1jYTAeFw0yMzExMTQyMjEzMjBaFw0zMzA1MTgwMzMzMjBaMBMxETAPBgNVBAMT
CGZpeGVkLWNhMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAubzB1IHe
GCbs+H0+Yz3ng2jMI+6qsfFsAi7AUYU3btsasBJbE6Xlq9z9JIWNk2iDtjerv8i3
uPC94xlpJ+FEUflBc9wQqQm/IimqpVV+TNbOpHqIPCp2b/kQ1yLGHPsqBDVes2vj
eGV+91FaCKVu7EBb5ISqgOxOuF057MXah5s+HCQlTKYMo7GNAbgdsmC9j2FyVEBg
3giNcwXZsExMTPz+wAUGs6j9BMo1GGx8S0pox2t3GNTIUxr13e1k6ZxGhPyO2dAJ
coDqOx2uJL81oRKKIxfzNUyDA95PqmooSSw2GPGNvRTZsXUtCj3CCdjq3SCbZXQV
SGc8E5dozc+LrwIDAQABo0IwQDAOBgNVHQ8BAf8EBAMCAoQwDwYDVR0TAQH/BAUw
AwEB/zAdBgNVHQ4EFgQU9RNgtShLn3cFF+pI9vfrUWn6rPYwDQYJKoZIhvcNAQEL
BQADggEBAGSHpsE0Xbl/d2GdFabs2lZhXL426UXwaN/TniThoFFZ91PXgH2omno7
KTnXqkfew88dHBqWbdCGO7xdKFBzjIJZg7bohlhd2LiF5NbXOVDo0cxETjOL4nqR
Aunj+T1HZCi8+fDlAU5KsR2ZwNUQB10lk5YkOyntNnEW4L7GmsYUQP5GENia7+i9
+gw29Yy8H7v9KFJAeVNr253PmB7fkKKdD2/X0AK8CCvkEMquQmGjntkY2EUIPKNH
7xWRlrpOa9KI6Fz/BJz5eMxoc8fbPphnRWeonrj74ODT57ud8wphcziFk2/nXkyI
VucNxL9AYOVy9uZ44nJztXejFqMwVFk=
-----END CERTIFICATE-----
''',
}
for _k, _v in fixtures.items():
    inputs[_k] = _v.encode()

unary = """upper lower title untitle trim nospace initials swapcase snakecase camelcase kebabcase
sha1sum sha256sum sha512sum adler32sum b64enc b64dec b32enc b32dec base dir clean ext isAbs
osBase osDir osClean osExt osIsAbs quote squote toString toJson toPrettyJson toRawJson
mustToJson mustToPrettyJson mustToRawJson atoi int int64 float64 toDecimal len empty kindOf
typeOf regexQuoteMeta html js urlquery print println fromJson mustFromJson toStrings
splitList_comma first_list""".split()
unary_keys = "s empty bin utf8 num neg float ws camel path csv json".split()

cases = []

def add(name, src):
    assert "\n--- " not in "\n" + src
    cases.append((name, src))

for f in unary:
    for k in unary_keys:
        if f == "splitList_comma":
            add(f"splitList-{k}", f'{{{{ splitList "," .{k} }}}}')
        elif f == "first_list":
            add(f"list-{k}", f'{{{{ list .{k} 1 | first }}}}')
        else:
            add(f"{f}-{k}", f"{{{{ {f} .{k} }}}}")

# big input: one of each family
for f in "upper sha256sum b64enc len trim quote toJson".split():
    add(f"{f}-big", f"{{{{ {f} .big }}}}")

hand = r'''
--- action-text
plain text only
--- action-comment
a{{/* a comment */}}b
--- action-trim
a  {{- "x" -}}  b
--- action-trim-comment
a {{- /* c */ -}} b
--- action-if
{{ if .s }}yes{{ end }}
--- action-if-else
{{ if .empty }}yes{{ else }}no{{ end }}
--- action-if-else-if
{{ if .empty }}1{{ else if .s }}2{{ else }}3{{ end }}
--- action-with
{{ with .s }}[{{ . }}]{{ end }}
--- action-with-else
{{ with .empty }}[{{ . }}]{{ else }}none{{ end }}
--- action-with-else-with
{{ with .empty }}a{{ else with .num }}{{ . }}{{ end }}
--- action-range-list
{{ range list 1 2 3 }}{{ . }},{{ end }}
--- action-range-index
{{ range $i, $v := list "a" "b" }}{{ $i }}={{ $v }};{{ end }}
--- action-range-map
{{ range $k, $v := dict "b" 2 "a" 1 }}{{ $k }}:{{ $v }} {{ end }}
--- action-range-else
{{ range list }}x{{ else }}empty{{ end }}
--- action-range-int
{{ range 3 }}{{ . }}{{ end }}
--- action-range-break
{{ range list 1 2 3 4 }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}
--- action-range-continue
{{ range list 1 2 3 4 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}
--- action-range-dot-map
{{ range . }}{{ len . }} {{ end }}
--- action-define-template
{{ define "t" }}<{{ . }}>{{ end }}{{ template "t" .s }}
--- action-template-no-arg
{{ define "t" }}<{{ . }}>{{ end }}{{ template "t" }}
--- action-block
{{ block "b" .num }}[{{ . }}]{{ end }}
--- action-template-undefined
{{ template "nope" }}
--- action-variables
{{ $x := .s }}{{ $x = upper $x }}{{ $x }}
--- action-variable-scope
{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}
--- action-dollar
{{ with .s }}{{ $.num }}{{ end }}
--- action-pipeline
{{ .s | upper | repeat 2 | quote }}
--- action-pipeline-parens
{{ (printf "%s-%s" .s .num) | len }}
--- action-missing-key
{{ .nope }}
--- action-missing-key-index
{{ index . "nope" }}
--- action-missing-nested
{{ .nope.deeper }}
--- action-field-on-string
{{ .s.x }}
--- action-nil
{{ nil }}
--- action-and-or
{{ and .s .num }} {{ or .empty .s }} {{ and .empty .s }} {{ or .empty "" }}
--- action-not
{{ not .empty }} {{ not .s }}
--- action-eq
{{ eq .num "42" }} {{ eq 1 1 }} {{ eq .s "a" "hello world" }}
--- action-ne-lt
{{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}
--- action-eq-mixed
{{ eq 1 "1" }}
--- action-lt-mixed
{{ lt 1 "a" }}
--- action-index-list
{{ index (list 1 2 3) 1 }}
--- action-index-string
{{ index .s 0 }}
--- action-index-out-of-range
{{ index (list 1) 5 }}
--- action-slice-builtin
{{ slice .s 1 3 }}
--- action-len-builtin
{{ len .utf8 }}
--- action-call-nonfunc
{{ call .s }}
--- action-unclosed
{{ if .s }}
--- action-bad-syntax
{{ .s | }}
--- action-unterminated-string
{{ "abc }}
--- action-undefined-function
{{ nosuch .s }}
--- action-env-removed
{{ env "HOME" }}
--- action-expandenv-removed
{{ expandenv "$HOME" }}
--- action-gethostbyname-removed
{{ getHostByName "localhost" }}
--- action-raw-string
{{ `raw\n` }}
--- action-char-constant
{{ 'a' }} {{ printf "%c" 'x' }}
--- action-numbers
{{ 0x1F }} {{ 1e3 }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ -2.5 }}
--- action-print-mixed
{{ print 1 2 "a" "b" 3 }}
--- action-println
{{ println .s .num }}
--- printf-verbs-1
{{ printf "%s|%q|%v|%x|%X|%d" .s .s .s .s .s 42 }}
--- printf-verbs-2
{{ printf "%5d|%-5d|%05d|%+d|%o|%b|%c|%U" 42 42 42 42 42 5 65 65 }}
--- printf-verbs-3
{{ printf "%f|%.2f|%e|%g|%8.3f|%G" 3.14159 3.14159 314.159 0.000001 2.5 1e21 }}
--- printf-verbs-4
{{ printf "%t|%v|%T|%T|%T" true (list 1 "a") 1 .s (dict) }}
--- printf-verbs-5
{{ printf "%v %v" (dict "a" 1 "b" (list 2 3)) nil }}
--- printf-verbs-6
{{ printf "%d" .s }}
--- printf-verbs-7
{{ printf "%s %s" 1 }}
--- printf-verbs-8
{{ printf "%!" }}{{ printf "%z" 3 }}
--- printf-verbs-9
{{ printf "%x" .bin }}{{ printf "%q" .bin }}
--- printf-verbs-10
{{ printf "%10.3s|%-10s|%x" .s .s 255 }}
--- printf-verbs-11
{{ printf "%#v|%#x|%#o" .s 255 8 }}
--- printf-verbs-12
{{ printf "%v|%s" .utf8 .bin }}
--- printf-verbs-13
{{ printf "%6.2f%%" 12.3456 }}
--- printf-verbs-14
{{ printf "%[2]d %[1]d" 1 2 }}
--- printf-verbs-15
{{ printf "%*d" 5 3 }}
--- printf-verbs-16
{{ printf "%#v|%#v|%#v|%#10v" .bin .empty "a`b\"c" .num }}
--- strings-abbrev
{{ abbrev 5 .s }}|{{ abbrev 100 .s }}
--- strings-abbrevboth
{{ abbrevboth 2 7 "1234567890" }}
--- strings-trunc
{{ trunc 5 .s }}|{{ trunc -5 .s }}|{{ trunc 50 .s }}
--- strings-substr
{{ substr 0 5 .s }}|{{ substr 6 -1 .s }}|{{ substr 3 2 .s }}
--- strings-repeat
{{ repeat 3 .num }}|{{ repeat 0 .s }}
--- strings-repeat-negative
{{ repeat -1 .s }}
--- strings-trimall
{{ trimAll "$" "$$5.00$" }}|{{ trimall "ab" .s }}
--- strings-trim-suffix-prefix
{{ trimSuffix "ld" .s }}|{{ trimPrefix "hel" .s }}
--- strings-wrap
{{ wrap 5 "This is a long line of text" }}
--- strings-wrapwith
{{ wrapWith 5 "\t" "Hello World" }}
--- strings-contains
{{ contains "wor" .s }} {{ contains "" .s }} {{ contains "x" .empty }}
--- strings-hasprefix
{{ hasPrefix "hell" .s }} {{ hasSuffix "rld" .s }} {{ hasPrefix "x" .s }}
--- strings-cat
{{ cat .s 1 nil "x" }}
--- strings-indent
{{ indent 2 "a\nb" }}|{{ nindent 2 "a\nb" }}
--- strings-replace
{{ replace " " "-" .s }}|{{ replace "" "." "abc" }}|{{ .big | replace "abc" "x" | len }}
--- strings-plural
{{ plural "one" "many" 1 }} {{ plural "one" "many" 2 }}
--- strings-split
{{ split "," .csv }}|{{ (split "," .csv)._0 }}
--- strings-splitn
{{ splitn "," 2 .csv }}
--- strings-join
{{ join "-" (list 1 "a" nil 2.5) }}|{{ join "," (splitList "," .csv) }}
--- strings-sortalpha
{{ sortAlpha (list "b" "a" "C" 1) }}
--- strings-hello
{{ hello }}
--- strings-seq
{{ seq 5 }}|{{ seq 2 5 }}|{{ seq 5 2 }}|{{ seq 1 3 10 }}|{{ seq 10 -3 1 }}|{{ seq 0 }}
--- strings-quote-many
{{ quote "a" 1 nil }}|{{ squote "a" 2 }}
--- strings-initials-utf8
{{ initials "Élan vital über" }}
--- strings-camel-cases
{{ camelcase "http_server" }}|{{ snakecase "HTTPServerID" }}|{{ kebabcase "MyURLParser" }}
--- strings-title-utf8
{{ title "ǆemal élan" }}|{{ untitle "Élan Vital" }}
--- strings-swapcase-mixed
{{ swapcase "This Is A.Test ǅ" }}
--- strings-tostrings
{{ toStrings (list 1 "a" nil 2.5) }}
--- strings-randalphanum
{{ len (randAlphaNum 12) }}{{ len (randAlpha 5) }}{{ len (randNumeric 7) }}{{ len (randAscii 3) }}
--- strings-shuffle
{{ len (shuffle "abcdef") }}
--- numeric-add
{{ add 1 2 "3" }}|{{ add1 .num }}|{{ sub 10 .neg }}|{{ mul 2 3 4 }}|{{ div 7 2 }}|{{ mod 7 3 }}
--- numeric-div-zero
{{ div 1 0 }}
--- numeric-max-min
{{ max 1 5 3 }}|{{ min 4 2 8 }}|{{ biggest 1 9 }}|{{ maxf 1.5 2.5 }}|{{ minf 1.5 -2 }}
--- numeric-floor-ceil-round
{{ floor 1.7 }}|{{ ceil 1.2 }}|{{ round 3.14159 2 }}|{{ round 2.5 0 }}|{{ round 1.255 2 0.4 }}
--- numeric-float-ops
{{ addf 1.5 2 }}|{{ subf 5 1.25 }}|{{ mulf 1.5 2 }}|{{ divf 1 3 }}|{{ add1f 1.5 }}
--- numeric-float-decimal
{{ addf 0.1 0.2 }}|{{ subf 0.3 0.1 }}|{{ mulf 1.1 1.1 }}|{{ divf 2 3 }}|{{ divf -2 3 }}|{{ add1f "2.5" }}|{{ addf }}|{{ mulf 3 }}|{{ divf 10 4 }}
--- numeric-float-extremes
{{ addf 1e300 1e-300 }}|{{ mulf 1e300 1e300 }}|{{ divf 1e-20 1 }}|{{ divf 5e-17 1 }}|{{ divf 7 2e20 }}|{{ divf 1e300 1e-300 }}|{{ subf 1.5 1.5 }}|{{ mulf -1 0 }}|{{ divf 1 -3e-5 }}|{{ subf 1e-320 1e-321 }}
--- numeric-float-strings
{{ addf .float .num "x" true nil }}|{{ subf .neg .float }}|{{ mulf .float .float .float }}|{{ divf .num .float }}|{{ add1f .neg }}|{{ typeOf (addf 1 2) }}
--- numeric-float-loop
{{ $x := 1.0 }}{{ range until 60 }}{{ $x = mulf $x 1.1 }}{{ end }}{{ $x }}|{{ $y := 0.0 }}{{ range until 100 }}{{ $y = addf $y 0.01 }}{{ end }}{{ $y }}|{{ $z := 1.0 }}{{ range until 30 }}{{ $z = divf $z 3 }}{{ end }}{{ $z }}
--- numeric-divf-zero
{{ divf 1 0 }}
--- numeric-addf-nan
{{ addf (float64 "NaN") 1 }}
--- numeric-mulf-inf
{{ mulf 2 (float64 "+Inf") }}
--- numeric-until
{{ until 5 }}|{{ untilStep 0 10 3 }}|{{ untilStep 10 0 -4 }}|{{ until -2 }}
--- numeric-conversions
{{ int "12abc" }}|{{ int64 "0x1F" }}|{{ float64 "1e3" }}|{{ toDecimal "0777" }}|{{ atoi "x" }}
--- numeric-randint
{{ $r := randInt 5 10 }}{{ and (ge $r 5) (lt $r 10) }}
--- defaults-default
{{ default "d" .empty }}|{{ default "d" .s }}|{{ default 5 0 }}|{{ .nope | default "missing" }}
--- defaults-empty
{{ empty .empty }} {{ empty 0 }} {{ empty (list) }} {{ empty (dict) }} {{ empty false }} {{ empty .s }}
--- defaults-coalesce
{{ coalesce .empty 0 "" "x" "y" }}|{{ coalesce .empty }}
--- defaults-all-any
{{ all 1 "a" true }} {{ all 1 "" }} {{ any 0 "" "x" }} {{ any 0 "" }}
--- defaults-compact
{{ compact (list 1 0 "" "a" nil false) }}|{{ mustCompact (list "" "b") }}
--- defaults-ternary
{{ ternary "y" "n" true }}|{{ true | ternary "y" "n" }}
--- defaults-tojson-types
{{ toJson (dict "a" 1 "b" (list true nil 2.5 "x<>&")) }}
--- defaults-toprettyjson
{{ toPrettyJson (dict "a" (list 1 2) "b" (dict)) }}
--- defaults-torawjson
{{ toRawJson (dict "h" "<b>&</b>") }}
--- defaults-fromjson-roundtrip
{{ (fromJson .json).b }}|{{ (fromJson .json).c }}|{{ fromJson .json | toJson }}
--- defaults-fromjson-bad
{{ fromJson "{bad" }}|{{ mustFromJson "{bad" }}
--- defaults-deepcopy
{{ $d := dict "a" (list 1 2) }}{{ $c := deepCopy $d }}{{ $_ := set $c "b" 1 }}{{ $d }} {{ $c }}
--- reflect-typeis
{{ typeIs "string" .s }} {{ typeIsLike "int" 1 }} {{ kindIs "slice" (list) }} {{ kindIs "map" . }}
--- reflect-typeof-values
{{ typeOf 1 }} {{ typeOf 1.5 }} {{ typeOf true }} {{ typeOf (list) }} {{ typeOf (dict) }} {{ typeOf . }} {{ typeOf nil }}
--- reflect-deepequal
{{ deepEqual (list 1 (dict "a" 2)) (list 1 (dict "a" 2)) }} {{ deepEqual 1 "1" }} {{ deepEqual (list) (list 1) }}
--- lists-basic
{{ list 1 "a" nil (list 2) }}|{{ tuple 1 2 }}
--- lists-append
{{ append (list 1) 2 }}|{{ push (list) "x" }}|{{ prepend (list 1) 0 }}|{{ mustAppend (list 1) 2 }}|{{ mustPrepend (list 1) 0 }}|{{ mustPush (list 1) 3 }}
--- lists-first-last
{{ first (list 1 2 3) }} {{ last (list 1 2 3) }} {{ first (list) }} {{ mustFirst (list 4) }} {{ mustLast (list 5 6) }}
--- lists-rest-initial
{{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }} {{ mustRest (list 1) }} {{ mustInitial (list 1 2) }}
--- lists-reverse-uniq
{{ reverse (list 1 2 3) }} {{ uniq (list 1 2 1 "1" 2) }} {{ mustReverse (list) }} {{ mustUniq (list "a" "a") }}
--- lists-without-has
{{ without (list 1 2 3 2) 2 }} {{ has 2 (list 1 2) }} {{ has "2" (list 1 2) }} {{ mustWithout (list 1 2) 1 }} {{ mustHas 1 (list 1) }}
--- lists-slice
{{ slice (list 1 2 3 4) 1 3 }} {{ slice (list 1 2 3) 1 }} {{ mustSlice (list 1 2 3) 0 2 }}
--- lists-concat-chunk
{{ concat (list 1) (list 2 3) (list) }} {{ chunk 2 (list 1 2 3 4 5) }} {{ mustChunk 3 (list 1 2) }}
--- lists-sortalpha-numbers
{{ sortAlpha (list 10 9 "b" "a") }}
--- lists-first-not-list
{{ first "abc" }}
--- lists-mustfirst-not-list
{{ mustFirst 5 }}
--- dicts-dict
{{ dict "b" 1 "a" 2 "c" }}
--- dicts-get-set-unset
{{ $d := dict "a" 1 }}{{ get $d "a" }}{{ get $d "x" }}|{{ $_ := set $d "b" 2 }}{{ $d }}|{{ $_ := unset $d "a" }}{{ $d }}
--- dicts-haskey
{{ hasKey (dict "a" 1) "a" }} {{ hasKey (dict "a" 1) "b" }}
--- dicts-pluck
{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }}
--- dicts-keys-values
{{ keys (dict "b" 1 "a" 2) | sortAlpha }} {{ values (dict "a" 1) }}
--- dicts-pick-omit
{{ pick (dict "a" 1 "b" 2 "c" 3) "a" "c" }} {{ omit (dict "a" 1 "b" 2) "a" }}
--- dicts-merge
{{ $a := dict "a" 1 "n" (dict "x" 1) }}{{ merge $a (dict "a" 2 "b" 3 "n" (dict "y" 2)) }}
--- dicts-mergeoverwrite
{{ mergeOverwrite (dict "a" 1 "b" 2) (dict "a" 9) }} {{ mustMerge (dict) (dict "z" 1) }} {{ mustMergeOverwrite (dict "a" 1) (dict "a" 0) }}
--- dicts-dig
{{ dig "a" "b" "def" (dict "a" (dict "b" "found")) }} {{ dig "a" "x" "def" (dict "a" (dict)) }}
--- dicts-dot-of-data
{{ len . }} {{ index . "num" }}
--- regex-match
{{ regexMatch "^h.*d$" .s }} {{ regexMatch "[" .s }} {{ mustRegexMatch "o" .s }}
--- regex-find
{{ regexFind "o." .s }}|{{ regexFindAll "o." .s -1 }}|{{ regexFindAll "l" .s 2 }}|{{ mustRegexFind "w" .s }}|{{ mustRegexFindAll "x" .s -1 }}
--- regex-replace
{{ regexReplaceAll "o(.)" .s "0${1}" }}|{{ regexReplaceAllLiteral "o(.)" .s "${1}" }}|{{ mustRegexReplaceAll "l+" .s "L" }}|{{ mustRegexReplaceAllLiteral "l" .s "$" }}
--- regex-split
{{ regexSplit "," .csv -1 }}|{{ regexSplit "," .csv 2 }}|{{ mustRegexSplit "b" .csv 0 }}
--- regex-bad
{{ mustRegexMatch "(" .s }}
--- regex-quotemeta
{{ regexQuoteMeta "1.5+[x]" }}
--- crypto-hashes
{{ sha1sum .bin }} {{ sha256sum .utf8 }} {{ adler32sum .big }}
--- crypto-uuid
{{ len uuidv4 }}
--- crypto-derive-password
{{ derivePassword 1 "long" "password" "user" "example.com" }}
--- crypto-encrypt-decrypt
{{ encryptAES "secretkey" "plaintext" | decryptAES "secretkey" }}
--- crypto-bcrypt-len
{{ len (bcrypt "pw") }}
--- crypto-htpasswd-prefix
{{ hasPrefix "user:$2a$" (htpasswd "user" "pw") }}
--- crypto-randbytes
{{ len (b64dec (randBytes 12)) }}
--- crypto-genprivatekey
{{ hasPrefix "-----BEGIN RSA PRIVATE KEY-----" (genPrivateKey "rsa") }} {{ hasPrefix "-----BEGIN EC PRIVATE KEY-----" (genPrivateKey "ecdsa") }}
--- crypto-genca
{{ $ca := genCA "my-ca" 365 }}{{ hasPrefix "-----BEGIN CERTIFICATE-----" $ca.Cert }}
--- crypto-gen-self-signed
{{ $c := genSelfSignedCert "host" (list "10.0.0.1") (list "a.example") 30 }}{{ hasPrefix "-----BEGIN CERTIFICATE-----" $c.Cert }}
--- crypto-gen-signed
{{ $ca := genCA "ca" 30 }}{{ $c := genSignedCert "leaf" nil nil 30 $ca }}{{ hasPrefix "-----BEGIN" $c.Key }}
--- crypto-build-custom-cert
{{ $ca := genCA "ca" 30 }}{{ $c := buildCustomCert (b64enc $ca.Cert) (b64enc $ca.Key) }}{{ eq $c.Cert $ca.Cert }}
--- crypto-with-key
{{ $k := genPrivateKey "rsa" }}{{ $ca := genCAWithKey "ca" 30 $k }}{{ $s := genSelfSignedCertWithKey "h" nil nil 30 $k }}{{ $l := genSignedCertWithKey "l" nil nil 30 $ca $k }}{{ eq $ca.Key $k }}
--- date-format
{{ date "2006-01-02 15:04" (toDate "2006-01-02T15:04:05Z07:00" .date) }}
--- date-in-zone
{{ dateInZone "2006-01-02 15:04 MST" (toDate "2006-01-02T15:04:05Z07:00" .date) "UTC" }}|{{ date_in_zone "15:04" (toDate "2006-01-02T15:04:05Z07:00" .date) "UTC" }}
--- date-unix-epoch
{{ toDate "2006-01-02T15:04:05Z07:00" .date | unixEpoch }}
--- date-modify
{{ toDate "2006-01-02T15:04:05Z07:00" .date | dateModify "-1h30m" | date "15:04" }}|{{ toDate "2006-01-02T15:04:05Z07:00" .date | date_modify "24h" | date "01-02" }}
--- date-must-modify
{{ toDate "2006-01-02T15:04:05Z07:00" .date | mustDateModify "bad" }}
--- date-must-modify-underscore
{{ toDate "2006-01-02T15:04:05Z07:00" .date | must_date_modify "1m" | date "04" }}
--- date-must-to-date
{{ mustToDate "2006-01-02" "nope" }}
--- date-html
{{ htmlDate (toDate "2006-01-02T15:04:05Z07:00" .date) }}|{{ htmlDateInZone (toDate "2006-01-02T15:04:05Z07:00" .date) "UTC" }}
--- date-duration
{{ duration 3661 }}|{{ duration "90" }}|{{ durationRound "2h10m5s" }}|{{ durationRound 3600 }}
--- date-now
{{ gt (now | unixEpoch) 1700000000 }}
--- date-ago
{{ hasSuffix "s" (ago now) }}
--- date-epoch-int
{{ date "2006" 0 }}|{{ dateInZone "2006-01-02" 86400 "UTC" }}
--- semver-compare
{{ semverCompare ">=1.2.0" .ver }} {{ semverCompare "~1.3" .ver }} {{ semverCompare "^1" "2.0.0" }}
--- semver-fields
{{ $v := semver .ver }}{{ $v.Major }}.{{ $v.Minor }}.{{ $v.Patch }}
--- semver-bad
{{ semver "not-a-version" }}
--- semver-object
{{ $v := semver "v1.2.3-beta.1+build.5" }}{{ $v }}|{{ $v.String }}|{{ typeOf $v }}|{{ kindOf $v }}|{{ typeOf $v.Major }}|{{ toJson $v }}|{{ toString $v }}|{{ printf "%s %v %q" $v $v $v }}|{{ list $v }}|{{ if $v }}t{{ end }}|{{ empty $v }}
--- semver-inc-set
{{ $v := semver "v1.2.3-rc.1+m" }}{{ $v.IncPatch }}|{{ $v.IncPatch.IncPatch }}|{{ typeOf $v.IncPatch }}|{{ kindOf $v.IncMinor }}|{{ $v.SetMetadata "a.b" }}|{{ $v.SetPrerelease "" }}|{{ $v.SetPrerelease "x..y" }}|{{ toJson $v.IncMajor }}
--- semver-set-bad
{{ $v := semver "1.2.3" }}{{ $v.SetPrerelease "x.01" }}
--- semver-set-metadata-bad
{{ $v := semver "1.2.3" }}{{ $v.SetMetadata "a_b" }}
--- semver-compare-methods
{{ $a := semver "1.2.3" }}{{ $b := semver "1.10.0" }}{{ $a.LessThan $b }} {{ $a.GreaterThan $b }} {{ $a.Equal $a }} {{ $a.Compare $b }} {{ $b.Compare $a }} {{ $a.LessThanEqual $b }} {{ $a.GreaterThanEqual $b }} {{ eq $a $a }} {{ eq $a (semver "1.2.3") }} {{ typeOf ($a.Compare $b) }}
--- semver-value-original
{{ (semver "1.2.3").IncPatch.Original }}
--- semver-value-compare
{{ $a := semver "1.2.3" }}{{ $a.IncPatch.LessThan $a }}
--- semver-method-wrong-arg
{{ $a := semver "1.2.3" }}{{ $a.LessThan "1.0.0" }}
--- semver-method-missing-arg
{{ $a := semver "1.2.3" }}{{ $a.LessThan }}
--- semver-unknown-field
{{ (semver "1.2.3").major }}
--- semver-uint64
{{ $m := (semver "18446744073709551615.0.0").Major }}{{ $m }}|{{ add1 $m }}|{{ eq (semver "1.0.0").Major 1 }}|{{ lt $m 1 }}|{{ gt $m 1 }}|{{ toJson $m }}|{{ printf "%d %x %v" $m $m $m }}|{{ float64 $m }}
--- semver-pipe-method
{{ $a := semver "1.2.3" }}{{ semver "1.0.0" | $a.GreaterThan }}
--- date-zero-time
{{ toDate "x" "y" }}|{{ toDate "x" "y" | unixEpoch }}|{{ typeOf (toDate "x" "y") }}|{{ kindOf (toDate "x" "y") }}|{{ toJson (toDate "2006" "2024") }}|{{ (toDate "x" "y").IsZero }}
--- date-time-methods
{{ $t := toDate "2006-01-02T15:04:05.999999999Z07:00" "2024-02-29T13:04:05.123456789+05:30" }}{{ $t.Unix }} {{ $t.UnixMilli }} {{ $t.UnixMicro }} {{ $t.UnixNano }} {{ $t.Year }} {{ $t.Day }} {{ $t.Hour }} {{ $t.Minute }} {{ $t.Second }} {{ $t.Nanosecond }} {{ $t.YearDay }} {{ $t.UTC }} {{ $t.Local }} {{ $t.String }} {{ $t.IsZero }} {{ $t.Format "Jan 2" }} {{ typeOf $t.Unix }} {{ typeOf $t.Year }}
--- date-time-month-weekday
{{ $t := toDate "2006-01-02" "2024-02-29" }}{{ $t.Month }} {{ $t.Weekday }} {{ typeOf $t.Month }} {{ kindOf $t.Weekday }} {{ printf "%v %d %s %q %x" $t.Month $t.Month $t.Month $t.Month $t.Month }} {{ eq $t.Month 2 }} {{ lt $t.Weekday 5 }} {{ add1 $t.Month }} {{ toString $t.Weekday }} {{ toJson (list $t.Month $t.Weekday) }} {{ list $t.Month }} {{ deepEqual $t.Month 2 }} {{ int $t.Month }} {{ (toDate "2006" "x").Weekday }} {{ (toDate "2006-01-02" "2023-12-31").Month }}
--- date-time-compare
{{ $a := toDate "2006-01-02" "2024-01-01" }}{{ $b := toDate "2006-01-02" "2024-06-01" }}{{ $a.Before $b }} {{ $a.After $b }} {{ $a.Equal $a }} {{ eq $a $a }} {{ eq $a $b }} {{ eq $a (toDate "2006-01-02" "2024-01-01") }} {{ $a.UTC.Equal $a }} {{ eq $a.UTC $a }}
--- date-print-forms
{{ $t := toDate "2006-01-02T15:04:05Z07:00" "2024-02-29T12:34:56-03:00" }}{{ $t }}|{{ print $t }}|{{ printf "%v %s" $t $t }}|{{ list $t }}|{{ toString $t }}|{{ toJson $t }}|{{ toJson (dict "t" $t) }}|{{ if $t }}t{{ end }}|{{ empty $t }}
--- date-epoch-forms
{{ date "2006-01-02 15:04:05" 0 }}|{{ date "2006" (int64 1700000000) }}|{{ dateInZone "15:04 MST" (int64 -1) "Europe/Berlin" }}|{{ htmlDate 86400 }}|{{ htmlDateInZone 86400 "Pacific/Chatham" }}
--- date-unix-epoch-bad
{{ unixEpoch "2024" }}
--- date-modify-bad-type
{{ dateModify "1h" "2024" }}
--- date-unix-epoch-int
{{ unixEpoch 5 }}
--- date-now-forms
{{ $n := now }}{{ typeOf $n }} {{ gt (now | unixEpoch | atoi) 1700000000 }} {{ len (htmlDate now) }} {{ ago now }} {{ durationRound now }} {{ duration (int64 0) }} {{ lt (len (date "2006" "x")) 5 }}
--- date-ago-fixed
{{ ago (toDate "2006" "2000") | len | lt 3 }}|{{ ago 0 | len | lt 3 }}|{{ ago (int64 0) | len | lt 3 }}|{{ ago "x" }}|{{ ago nil }}
--- random-alphabets
{{ regexMatch "^[0-9A-Za-z]{40}$" (randAlphaNum 40) }} {{ regexMatch "^[A-Za-z]{40}$" (randAlpha 40) }} {{ regexMatch "^[0-9]{40}$" (randNumeric 40) }} {{ regexMatch "^[ -~]{40}$" (randAscii 40) }} {{ randAlphaNum 0 }}|{{ randAlpha -1 }}|{{ randNumeric -5 | len }}|{{ randAscii 1000 | len }}
--- random-shuffle-forms
{{ shuffle "" }}|{{ shuffle "a" }}|{{ len (shuffle .bin) }}|{{ shuffle "aaaa" }}|{{ len (shuffle .utf8) }}|{{ shuffle "abcé" | splitList "" | sortAlpha | join "" }}|{{ shuffle .bin | splitList "" | sortAlpha | join "" }}
--- random-randint
{{ randInt 5 6 }}|{{ randInt -3 -2 }}|{{ $r := randInt -10 10 }}{{ and (ge $r -10) (lt $r 10) }}|{{ typeOf (randInt 1 2) }}
--- random-randint-empty
{{ randInt 5 5 }}
--- random-randint-reversed
{{ randInt 6 5 }}
--- random-randbytes-forms
{{ randBytes 0 }}|{{ len (randBytes 3) }}|{{ len (b64dec (randBytes 100)) }}|{{ typeOf (randBytes 1) }}
--- random-randbytes-negative
{{ randBytes -1 }}
--- random-uuid-format
{{ regexMatch "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" uuidv4 }} {{ ne uuidv4 uuidv4 }} {{ typeOf uuidv4 }}
--- random-wrong-type
{{ randAlpha "5" }}
--- random-uuid-args
{{ uuidv4 1 }}
--- crypto-bcrypt-too-long
{{ bcrypt (repeat 73 "x") }}|{{ htpasswd "u" (repeat 100 "y") }}
--- crypto-bcrypt-format
{{ regexMatch "^[$]2a[$]10[$][./A-Za-z0-9]{53}$" (bcrypt "pw") }} {{ len (bcrypt (repeat 72 "x")) }}
--- crypto-bcrypt-salted
{{ ne (bcrypt "a") (bcrypt "a") }}
--- crypto-bcrypt-binary
{{ bcrypt .bin | len }} {{ typeOf (bcrypt "") }}
--- crypto-htpasswd-forms
{{ htpasswd "a:b" "pw" }}|{{ htpasswd "" "pw" | len }}|{{ regexMatch "^é[$]2a[$]10[$]" (htpasswd "é" "") | not }}|{{ hasPrefix "é:$2a$10$" (htpasswd "é" "") }}
--- objects-reflect-time
{{ $t := toDate "2006" "2024" }}{{ deepEqual $t $t }} {{ kindIs "struct" $t }} {{ typeIs "time.Time" $t }} {{ typeIsLike "time.Time" $t }} {{ deepCopy $t }} {{ kindOf (deepCopy $t) }} {{ toString $t }} {{ list $t | first }} {{ empty $t }} {{ default "d" $t }} {{ coalesce $t }} {{ ternary $t 1 true }}
--- objects-reflect-semver
{{ $v := semver "1.2.3" }}{{ deepEqual $v (semver "1.2.3") }} {{ kindIs "ptr" $v }} {{ typeIsLike "semver.Version" $v }} {{ typeIsLike "*semver.Version" $v }} {{ deepEqual $v $v }} {{ get (dict "v" $v) "v" }} {{ has $v (list $v) }} {{ without (list $v 1) $v | len }}
--- objects-deepcopy-semver
{{ deepCopy (semver "1.2.3") }}
--- objects-len
{{ len (toDate "2006" "2024") }}
--- objects-index
{{ index (semver "1.2.3") 0 }}
--- objects-range
{{ range (toDate "2006" "2024") }}x{{ end }}
--- objects-json-cert
{{ $c := buildCustomCert (b64enc .ca_cert) (b64enc .ec_key) }}{{ toPrettyJson (dict "c" $c) | len }} {{ deepEqual $c $c }} {{ $c.Cert | len }}
--- objects-compare
{{ lt (semver "1.2.3") (semver "1.2.4") }}
--- url-parse
{{ $u := urlParse .url }}{{ $u.scheme }}|{{ $u.host }}|{{ $u.path }}|{{ $u.query }}|{{ $u.fragment }}|{{ $u.userinfo }}|{{ $u.hostname }}
--- url-join
{{ urlJoin (dict "scheme" "https" "host" "example.com" "path" "/x" "query" "a=b") }}
--- url-roundtrip
{{ urlParse .url | urlJoin }}
--- encoding-b64-binary
{{ .bin | b64enc | b64dec | b64enc }}
--- encoding-b32-binary
{{ .bin | b32enc | b32dec | b32enc }}
--- functions-fail
{{ fail "boom" }}
--- functions-fail-unreached
{{ if false }}{{ fail "boom" }}{{ end }}ok
--- wrong-arg-count
{{ upper }}
--- wrong-arg-type
{{ repeat "x" "y" }}
--- invalid-utf8-through
{{ .bin }}|{{ upper .bin }}|{{ len .bin }}|{{ quote .bin }}|{{ toJson .bin }}
--- empty-everything
{{ .empty }}{{ upper .empty }}{{ quote .empty }}{{ toJson .empty }}{{ len .empty }}
--- big-through
{{ len .big }}|{{ .big | upper | len }}|{{ trunc 8 .big }}|{{ .big | sha1sum }}
--- deep-equal-self-nested
{{ $a := list 0 }}{{ range until 30 }}{{ $a = list $a $a }}{{ end }}{{ deepEqual $a $a }}
'''
name = None
lines = []
for line in hand.strip("\n").split("\n"):
    if line.startswith("--- "):
        if name:
            add(name, "\n".join(lines))
        name, lines = line[4:], []
    else:
        lines.append(line)
add(name, "\n".join(lines))

# urlParse over Go's net/url edge cases, each alone (an error fails the whole template)
url_inputs = [
    "https://user:pw@example.com:8080/p/a?q=1&r=2#frag", "HTTP://EXAMPLE.com/", "mailto:joe@example.com",
    "/relative/path?x=1", "relative/path", "//host/path", "///triple/slash", "http:///nohost",
    "http://h/a%2Fb%20c", "http://h/a b", "http://h/ä?ü#ö", "http://[fe80::1%25en0]:80/", "http://[::1]",
    "http://[1.2.3.4]/", "http://[::1", "http://a:1:2/", "mongodb://a:1,b:2/db", "http://h:port/",
    "http://us%20er:p%40ss@h/", "http://u@s@h/", "http://u ser@h/", "?", "x?", "a?b?", "#only-frag",
    "http://h/#", "http://h/p#a%zz", "http://h/%zz", ":nope", "1a:b/c", "seg:ment/x", "*", "",
    "http://h%41/", "http://h%c3%a4/", "foo://h/p;param,x?q=a+b", "http://h/p?q=1#f!()*'",
    "http://h/C:/x", "http://h/a%2fb", "file:///C:/x", "http://h:/", "http://h:80", "http://h?",
    "http://[fe80::1%25]/", "http://[::ffff:1.2.3.4]:1/", "http://h/%7e%41", "HtTp://h/", "h+s-1.x://a",
    "http://h/a?b#c#d", "http://h/\\x", "http://[::1]x/", "http://h/p%", "http://%41:%42@h/",
]
for i, u in enumerate(url_inputs):
    assert "`" not in u
    add(f"url-parse-{i}", f"{{{{ urlParse `{u}` }}}}")
    add(f"url-roundtrip-{i}", f"{{{{ urlParse `{u}` | urlJoin }}}}")
for k in "s empty bin utf8 url path".split():
    add(f"url-parse-input-{k}", f"{{{{ urlParse .{k} }}}}")
url_joins = [
    '(dict "host" "h" "path" "rel")', '(dict "path" "a:b")', '(dict "path" "a/b:c")',
    '(dict "scheme" "mailto" "opaque" "joe@x" "fragment" "f g")', '(dict "userinfo" "u:p@x" "host" "h")',
    '(dict "userinfo" "a?b" "host" "h")', '(dict "userinfo" "a b" "host" "h")', '(dict "host" 5)',
    '(dict "host" nil)', '(dict)', 'nil', '(dict "path" "*")', '(dict "scheme" "http" "path" "/a b?c" "fragment" "x#y")',
    '(dict "host" "ä.com" "scheme" "http")', '(dict "scheme" "http" "userinfo" "u%zz" "host" "h")',
    '(dict "scheme" "http" "userinfo" "u:" "host" "h" "path" "p")', '(dict "query" "a b" "fragment" "!*()\'")',
    '(dict "scheme" "X" "host" "h/p" "path" "q")', '(dict "userinfo" "u#f" "host" "h")',
]
for i, d in enumerate(url_joins):
    add(f"url-join-{i}", f"{{{{ urlJoin {d} }}}}")

# semverCompare: every constraint form over the same versions (an invalid constraint fails
# the whole template)
semver_constraints = [
    ">=1.2.0", "~1.3", "^1", "1.2 - 1.4", "1.2.3 - 2", "<1 || >=2.1", ">= 1.x, < 3", "!=1.x", "!=1.2.x",
    "!=1.2.3", "1.x", "1.2.x", "*", "x", "", " ", "~>1.2", "=>1.0", "=<2", "<=1.2", "<=1.x", ">1.2", ">1.x",
    ">1", "^0.2.3", "^0.0.3", "^0.x", "^0", "~0", "~0.0.0", "1.2.3-beta", ">=1.2.3-alpha", "nope", "1 ||| 2",
    ">=1.0.0 <2.0.0", ">=1.0.0,<2.0.0", "v1.2.3", "1.2.3+meta", "1|2", "=1.2.3", ">= 1.2 , <= 1.4",
    "~1.2.3-beta.2", "!=1.2.3-beta", ">1.2.3-beta", "<=1.2.x-beta", "1.2.X", "1.*.*", "^1.2.x", "~1.x",
    "<1.2.3 >1.0 || =2.0.0", "\t>=1.0\n", ">=01.2", "> =1.2", "1.2 - ", "=> 1.2.3 - 2.0.0",
]
semver_versions = ["1.2.3", "1.3.0", "2.0.0", "1.1.0-beta", "0.2.9", "0.0.3", "v1.2", "1.2.3-beta",
                   "1.2.3+build", "0.0.0", "1.2.3-beta.10", "2.1.0"]
for i, c in enumerate(semver_constraints):
    add(f"semver-compare-{i}", " ".join(f'{{{{ semverCompare "{c}" "{v}" }}}}' for v in semver_versions))
for i, v in enumerate(["bad", "1.2.3.4", "01.2.3", "1.2.3-01", "1.2.3-", "18446744073709551616", "v", ""]):
    add(f"semver-bad-{i}", f'{{{{ semver "{v}" }}}}')
    add(f"semver-compare-bad-{i}", f'{{{{ semverCompare "*" "{v}" }}}}')
for i, v in enumerate(["1", "v1.2", "1.2.3-rc.1+b.2", "0.0.0-0", "18446744073709551615.1.2", "1.2.3-a-b.c+d-e"]):
    add(f"semver-parse-{i}", f'{{{{ $v := semver "{v}" }}}}{{{{ $v }}}}|{{{{ $v.Original }}}}|{{{{ $v.Major }}}}.{{{{ $v.Minor }}}}.{{{{ $v.Patch }}}}|{{{{ $v.Prerelease }}}}|{{{{ $v.Metadata }}}}|{{{{ $v.IncPatch }}}}|{{{{ $v.IncMinor.Minor }}}}|{{{{ $v.IncMajor }}}}')

# dates: Go layouts over fixed instants, in fixed and named zones
date_layouts = [
    "Mon Jan _2 15:04:05 2006", "Mon Jan _2 15:04:05 MST 2006", "Mon Jan 02 15:04:05 -0700 2006",
    "02 Jan 06 15:04 MST", "02 Jan 06 15:04 -0700", "Monday, 02-Jan-06 15:04:05 MST",
    "Mon, 02 Jan 2006 15:04:05 MST", "Mon, 02 Jan 2006 15:04:05 -0700", "2006-01-02T15:04:05Z07:00",
    "2006-01-02T15:04:05.999999999Z07:00", "3:04PM", "Jan _2 15:04:05", "Jan _2 15:04:05.000",
    "Jan _2 15:04:05.000000", "Jan _2 15:04:05.000000000", "2006-01-02 15:04:05",
    "Jan January Mon Monday 1 01 2 _2 02 __2 002 15 3 03 4 04 5 05 2006 06 PM pm MST",
    "Z0700 Z070000 Z07 Z07:00 Z07:00:00 -0700 -070000 -07 -07:00 -07:00:00",
    ".0 .000 .999 ,999 .9 .999999999 ,000000 .0000000000 .99999999999", "Janx Monx _2006 x_2 Janet Mondays",
    "no elements here", "", "15:04:05.00000001 05.9x 1.5", "Z", "ZZ07 -7 +07",
]
date_times = ["2024-02-29T13:04:05.123456789+05:30", "1999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
              "2021-07-04T00:07:08.1-07:00", "2024-03-31T01:30:00Z"]
for i, layout in enumerate(date_layouts):
    body = "|".join(f'{{{{ dateInZone `{layout}` (toDate "2006-01-02T15:04:05Z07:00" "{t}") "{z}" }}}}'
                    for t in date_times for z in ["UTC", "Asia/Kolkata"])
    add(f"date-layout-{i}", body)
date_zones = ["UTC", "", "Local", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
              "Etc/GMT+5", "Nope/Zone", "../etc/passwd", "europe/berlin", "/etc/localtime", "America/St_Johns",
              "Pacific/Chatham", "zone.tab", "Asia", "EST5EDT", "America/Sao_Paulo", "Africa/Casablanca"]
for i, z in enumerate(date_zones):
    body = "|".join(f'{{{{ dateInZone "2006-01-02 15:04:05 MST -07:00" (toDate "2006-01-02T15:04:05Z07:00" "{t}") "{z}" }}}}'
                    for t in date_times + ["2038-06-15T12:00:00Z", "2100-10-31T01:30:00Z", "1900-01-01T00:00:00Z"])
    add(f"date-zone-{i}", body)
    add(f"date-html-zone-{i}", f'{{{{ htmlDateInZone 1700000000 "{z}" }}}}|{{{{ htmlDateInZone (toDate "2006-01-02" "2024-01-01") "{z}" }}}}')
# toDate over Go's parsing rules: each (layout, value) alone, printed with Time.String
date_parses = [
    ("2006-01-02", "2024-02-29"), ("2006-01-02", "2023-02-29"), ("2006-01-02", "2024-2-29"),
    ("2006-1-2", "2024-2-9"), ("2006-1-2", "2024-12-31"), ("01/02/06", "12/31/69"), ("01/02/06", "12/31/68"),
    ("Jan 2, 2006", "feb 3, 2024"), ("January 2 2006", "MARCH 4 2021"), ("Mon Jan _2 2006", "Tue Feb  6 2024"),
    ("Mon Jan _2 2006", "Xyz Feb  6 2024"), ("15:04:05", "23:59:59"), ("15:04:05", "24:00:00"),
    ("3:04PM", "12:30AM"), ("3:04PM", "12:30PM"), ("3:04pm", "1:05pm"), ("3:04PM", "1:05pm"),
    ("2006-01-02T15:04:05Z07:00", "2024-02-29T12:34:56Z"), ("2006-01-02T15:04:05Z07:00", "2024-02-29T12:34:56+02:00"),
    ("2006-01-02T15:04:05Z07:00", "2024-02-29T12:34:56+00:00"), ("2006-01-02T15:04:05Z07:00", "2024-02-29T12:34:56-25:00"),
    ("2006-01-02T15:04:05.999999999Z07:00", "2024-02-29T12:34:56.5Z"), ("2006-01-02 15:04:05", "2024-02-29 12:34:56.123"),
    ("2006-01-02 15:04:05", "2024-02-29 12:34:56,1234567891"), ("2006-01-02 15:04:05.000", "2024-02-29 12:34:56.12"),
    ("2006-01-02 15:04:05 MST", "2024-02-29 12:34:56 PST"), ("2006-01-02 15:04:05 MST", "2024-02-29 12:34:56 UTC"),
    ("2006-01-02 15:04:05 MST", "2024-02-29 12:34:56 GMT+3"), ("2006-01-02 15:04:05 MST", "2024-02-29 12:34:56 CEST"),
    ("2006-01-02 15:04:05 MST", "2024-02-29 12:34:56 ChST"), ("2006-01-02 15:04:05 MST", "2024-02-29 12:34:56 +05"),
    ("2006-01-02 15:04:05 MST", "2024-02-29 12:34:56 X"), ("2006-01-02 15:04:05 -0700 MST", "2024-02-29 12:34:56 +0100 CET"),
    ("2006-01-02 15:04:05 -0700 MST", "2024-02-29 12:34:56 +0000 UTC"), ("2006-01-02 15:04:05 -0700 MST", "2024-02-29 12:34:56 +0000 GMT"),
    ("2006-002", "2024-060"), ("2006-002", "2023-060"), ("2006-002", "2024-366"), ("2006-002", "2023-366"),
    ("2006 __2", "2024  60"), ("2006-01-002", "2024-02-060"), ("2006-01-002", "2024-03-060"), ("2006", "0000"),
    ("2006-01-02", "2024-02-29 extra"), ("2006-01-02", ""), ("", ""), ("", "x"), ("x", "x"), ("2006  01", "2024 01"),
    ("2006 01", "2024   01"), ("06", "+5"), ("2006", "+024"), ("-07", "+05"), ("Z07:00:00", "-01:02:03"),
    ("Z070000", "Z"), ("-070000", "+010203"), ("2006-01-02T15:04:05Z0700", "2024-02-29T12:34:56+0530"),
    ("15:04:05.9", "12:34:56"), ("15:04:05.9", "12:34:56.987654321123"), (".000", ".12"), ("05,000", "09,123"),
    ("2006-01-02 15:04", "2024-13-01 00:00"), ("2006-01-02", "2024-04-31"), ("2006-01-02 3PM", "2024-01-01 13PM"),
    ("Monday 2006", "monday 2024"), ("_2 Jan", " 7 Mar"), ("__2", "  7"), ("2006-01-02 15:04:05.000000000", "2024-01-01 00:00:00.000000001"),
]
for i, (layout, value) in enumerate(date_parses):
    add(f"date-todate-{i}", f'{{{{ toDate "{layout}" "{value}" }}}}|{{{{ toDate "{layout}" "{value}" | unixEpoch }}}}')
    add(f"date-musttodate-{i}", f'{{{{ mustToDate "{layout}" "{value}" | date "2006-01-02T15:04:05.999999999Z07:00 MST" }}}}')
# durations
for i, d in enumerate(["1h", "-1h30m", "1.5h", "90m", "1h2m3.5s", "100ms", "1.5us", "1µs", "2μs", "300ns", "0", "-0", "+5s",
                       "", "1", "h", "1x", ".5s", "5.s", "1h-1m", "9223372036854775807ns", "9223372036854775808ns",
                       "2562047h47m16.854775807s", "2562048h", "0.000000001s", "1.0000000001s", "00001m", "1e3s", " 1s"]):
    add(f"date-modify-{i}", f'{{{{ $t := toDate "2006-01-02T15:04:05Z07:00" "2024-02-29T12:34:56+05:30" }}}}{{{{ dateModify "{d}" $t }}}}|{{{{ durationRound "{d}" }}}}')
    add(f"date-must-modify-{i}", f'{{{{ $t := toDate "2006-01-02T15:04:05Z07:00" "2024-02-29T12:34:56Z" }}}}{{{{ mustDateModify "{d}" $t | unixEpoch }}}}')
for i, n in enumerate(['3661', '"3661"', '"-90"', '"+5"', '"x"', '"99999999999999999999"', '(int64 3661)', '(int64 -1)',
                       '(int64 9223372036854775807)', '"0"', '1.5', 'nil', '"9223372036"', '"9223372037"']):
    add(f"date-duration-{i}", f'{{{{ duration {n} }}}}|{{{{ durationRound {n} }}}}')
for i, n in enumerate(['(int64 3600000000000)', '(int64 -86400000000001)', '"8761h"', '"721h"', '"25h"', '"61m"', '"61s"',
                       '"1s"', '"-2h"', '(int64 31536000000000001)']):
    add(f"date-duration-round-{i}", f'{{{{ durationRound {n} }}}}')

# decryptAES over ciphertexts Go's encryptAES produced, wrong keys, and malformed input
aes_cases = [
    ("secretkey", "pNcztarNHYDL1BPr1TfLnCqVBKYc8FW259M/a970BMw="),
    ("", "gWIoofvkcuUm4QXoUzbzEpZ/weHPcebGV13g/x4gfWU="),
    ("a-very-long-password-that-is-longer-than-32-bytes!!", "QZWIfLf5G69HM2rvJoFYfj5uvsR52BVnaA0fXIztfu6ww3G94c2HOHNKqodspFdp"),
    ("a-very-long-password-that-is-longer-than-32-bytes??", "QZWIfLf5G69HM2rvJoFYfj5uvsR52BVnaA0fXIztfu6ww3G94c2HOHNKqodspFdp"),
    ("k", "5PKORbfVBxmqBaAmAHe5IFY1SSjAQwpR2xfoaXrM8sSLcKc4H28RnRrtmCrjgr/4"),
    ("wrong", "pNcztarNHYDL1BPr1TfLnCqVBKYc8FW259M/a970BMw="), ("secretkeyX", "pNcztarNHYDL1BPr1TfLnCqVBKYc8FW259M/a970BMw="),
    ("k", ""), ("k", "AAAAAAAAAAAAAAAAAAAAAA=="), ("k", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), ("k", "AAAAAAAAAAA="), ("k", "!!!"),
    ("k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), ("z", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    ("k", "pNcztarNHYDL1BPr1TfLnCqVBKYc8FW259M/a970BMw"),
]
for i, (k, c) in enumerate(aes_cases):
    add(f"crypto-decrypt-aes-{i}", f'{{{{ decryptAES "{k}" "{c}" | b64enc }}}}')
for i, (k, p) in enumerate([("secretkey", "plaintext"), ("", ""), ("k", "sixteen bytes!!!"), ("k", ".bin"), ("long" * 10, ".big")]):
    arg = p if p.startswith(".") else f'"{p}"'
    add(f"crypto-aes-roundtrip-{i}", f'{{{{ $c := encryptAES "{k}" {arg} }}}}{{{{ eq (decryptAES "{k}" $c) {arg} }}}} {{{{ len $c }}}}')
# derivePassword: Master Password, one scrypt derivation per template
derive_cases = [
    '1 "long" "password" "user" "example.com"', '1 "maximum" "password" "user" "example.com"',
    '1 "medium" "password" "user" "example.com"', '1 "short" "password" "user" "example.com"',
    '1 "basic" "password" "user" "example.com"', '1 "pin" "password" "user" "example.com"',
    '2 "long" "password" "user" "example.com"', '0 "long" "" "" ""', '4294967295 "long" "pw" "ü" "ß.example"',
    '4294967297 "long" "password" "user" "example.com"', '1 "long" .bin .utf8 .s', '1 "nope" "password" "user" "example.com"',
    '-1 "long" "password" "user" "example.com"', '(add 1 1) "long" "password" "user" "example.com"', '1.0 "pin" "p" "u" "s"',
    '0x10 "pin" "p" "u" "s"', '1.5 "pin" "p" "u" "s"',
]
for i, c in enumerate(derive_cases):
    add(f"crypto-derive-{i}", f"{{{{ derivePassword {c} }}}}")

# keys and certificates: what Go re-encodes is byte-exact, certificates are random
for k in ["rsa_key", "rsa_pkcs8", "ec_key", "ec_pkcs8", "ec384_key", "ed_key", "dsa_key", "s", "empty"]:
    add(f"certs-ca-with-key-{k}", f'{{{{ $c := genCAWithKey "ca" 30 .{k} }}}}{{{{ $c.Key }}}}|{{{{ hasPrefix "-----BEGIN CERTIFICATE-----" $c.Cert }}}}')
    add(f"certs-self-signed-with-key-{k}", f'{{{{ $c := genSelfSignedCertWithKey "h" (list "10.0.0.1" "::1") (list "a.example") 1 .{k} }}}}{{{{ $c.Key }}}}')
    add(f"certs-signed-with-key-{k}", f'{{{{ $ca := buildCustomCert (b64enc .ca_cert) (b64enc .rsa_key) }}}}{{{{ $c := genSignedCertWithKey "leaf" nil (list "x") 1 $ca .{k} }}}}{{{{ $c.Key }}}}')
    add(f"certs-build-custom-{k}", f'{{{{ $c := buildCustomCert (b64enc .ca_cert) (b64enc .{k}) }}}}{{{{ $c }}}}|{{{{ toJson $c }}}}|{{{{ typeOf $c }}}}|{{{{ kindOf $c }}}}')
for i, src in enumerate([
    '{{ genPrivateKey "nope" }}', '{{ genPrivateKey "RSA" }}', '{{ genPrivateKey "dsa" | hasPrefix "-----BEGIN DSA PRIVATE KEY-----" }}',
    '{{ hasPrefix "-----BEGIN PRIVATE KEY-----" (genPrivateKey "ed25519") }} {{ len (genPrivateKey "ed25519") }}',
    '{{ hasPrefix "-----BEGIN EC PRIVATE KEY-----" (genPrivateKey "ecdsa") }} {{ len (genPrivateKey "ecdsa") }}',
    '{{ hasPrefix "-----BEGIN RSA PRIVATE KEY-----" (genPrivateKey "") }}',
    '{{ $ca := genCA "ca" 1 }}{{ $k := genPrivateKey "ecdsa" }}{{ $c := genSignedCertWithKey "leaf" nil nil 1 $ca $k }}{{ eq $c.Key $k }}',
    '{{ $k := genPrivateKey "ed25519" }}{{ $c := genCAWithKey "ca" 1 $k }}{{ eq $c.Key $k }} {{ typeOf $c }}',
    '{{ genSelfSignedCert "h" (list 1) nil 1 }}', '{{ genSelfSignedCert "h" (list "300.1.1.1") nil 1 }}',
    '{{ genSelfSignedCert "h" (splitList "," "1.1.1.1") nil 1 }}', '{{ genSelfSignedCert "h" nil (list 5) 1 }}',
    '{{ genSelfSignedCert "h" "1.1.1.1" nil 1 }}', '{{ genSignedCert "l" nil nil 1 (dict "Cert" "x" "Key" "y") }}',
    '{{ $ca := buildCustomCert (b64enc .ca_cert) (b64enc .ec_key) }}{{ genSignedCert "l" nil nil 1 $ca }}',
    '{{ buildCustomCert "!!" (b64enc .rsa_key) }}', '{{ buildCustomCert (b64enc .ca_cert) "!!" }}',
    '{{ buildCustomCert (b64enc .rsa_key) (b64enc .rsa_key) }}', '{{ buildCustomCert (b64enc "x") (b64enc .rsa_key) }}',
    '{{ $c := buildCustomCert (b64enc .ca_cert) (b64enc .rsa_key) }}{{ $c.Cert }}{{ $c.Key }}{{ $c.Nope }}',
    '{{ $c := buildCustomCert (b64enc .ca_cert) (b64enc .rsa_key) }}{{ eq $c $c }} {{ eq $c (buildCustomCert (b64enc .ca_cert) (b64enc .rsa_key)) }}',
    '{{ genCAWithKey "ca" 1 "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n" }}',
    '{{ $c := genCA "" 1 }}{{ hasPrefix "-----BEGIN RSA PRIVATE KEY-----" $c.Key }}',
    '{{ $c := genCA "ca" 4000000 }}{{ len $c.Key | lt 100 }}', '{{ $c := genCA "ca" -1 }}{{ len $c.Key | lt 100 }}',
    '{{ $c := genSelfSignedCert "ü" (list "::ffff:1.2.3.4") (list "ü.example") 1 }}{{ len $c.Cert }}',
]):
    add(f"certs-case-{i}", src)

names = [n for n, _ in cases]
assert len(names) == len(set(names)), "duplicate case names"
with open(os.path.join(here, "corpus.txt"), "w") as f:
    for n, src in cases:
        f.write(f"--- {n}\n{src}\n")
with open(os.path.join(here, "inputs.txt"), "w") as f:
    for k, v in inputs.items():
        f.write(f"{k}\t{base64.b64encode(v).decode()}\n")
print(len(cases), "cases")
