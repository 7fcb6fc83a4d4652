//! Arbitrary SealedSecret text through `read_sealed_secrets`, then `unseal` and `verify`
//! against the compat keyring.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seal::{UnsealOptions, read_sealed_secrets, unseal, verify};
use seal_fuzz::{KEYRING, RSA2048};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sealed) = read_sealed_secrets(text) else {
        return;
    };
    for (i, object) in sealed.iter().enumerate() {
        let options = UnsealOptions {
            accept_deprecated_v1_data: i % 2 == 0,
            key_hint: (i % 3 == 0).then(|| RSA2048.fingerprint()),
            ..UnsealOptions::default()
        };
        let unsealed = unseal(object, &KEYRING, &options);
        let verified = verify(object, &KEYRING);
        // verify never renders templates; anything that unseals must also verify.
        if unsealed.is_ok() {
            assert!(verified.is_ok(), "unsealed but did not verify");
        }
        if let Err(e) = unsealed {
            let _ = e.to_string();
        }
    }
});
