//! Arbitrary UTF-8 as Secret and SealedSecret manifests. Whatever reads must write in both
//! formats and read back to equal objects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seal::{Format, read_sealed_secrets, read_secrets, write_documents};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(secrets) = read_secrets(text) {
        for format in [Format::Yaml, Format::Json] {
            let out = write_documents(&secrets, format);
            let back = read_secrets(&out)
                .unwrap_or_else(|e| panic!("{format:?} output of read_secrets re-reads: {e}"));
            assert_eq!(back, secrets, "{format:?} round trip of Secrets");
        }
    }
    if let Ok(sealed) = read_sealed_secrets(text) {
        for format in [Format::Yaml, Format::Json] {
            let out = write_documents(&sealed, format);
            let back = read_sealed_secrets(&out).unwrap_or_else(|e| {
                panic!(
                    "{format:?} output of read_sealed_secrets re-reads: {e}\n{}",
                    *out
                )
            });
            assert_eq!(back, sealed, "{format:?} round trip of SealedSecrets");
        }
    }
});
