//! Arbitrary Go text/template source over arbitrary values. Input layout: the template source
//! up to the first NUL, then `key=value` pairs separated by NUL.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let Some(Ok(source)) = parts.next().map(std::str::from_utf8) else {
        return;
    };
    let mut values: BTreeMap<String, &[u8]> = BTreeMap::new();
    for pair in parts {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        values.insert(String::from_utf8_lossy(key).into_owned(), value);
    }
    let _ = gotemplate::render(source, &values);
});
