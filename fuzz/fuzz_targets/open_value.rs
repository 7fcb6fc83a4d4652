//! Arbitrary bytes as one sealed value. Byte 0 picks the scope label (mod 3) and, with bit 2,
//! whether the keyring gets the 2048-bit key as a hint; the rest is the value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seal_fuzz::{KEYRING, RSA2048, label};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, sealed)) = data.split_first() else {
        return;
    };
    let label = label(selector);
    let direct = seal::open_value(&RSA2048, &label, sealed);
    let hint = (selector & 4 != 0).then(|| RSA2048.fingerprint());
    let via_ring = KEYRING.open_value(&label, sealed, hint);
    // The keyring holds the key, so both must agree.
    match (&direct, &via_ring) {
        (Ok(a), Ok((b, fp))) => {
            assert_eq!(a.expose(), b.expose());
            assert_eq!(*fp, RSA2048.fingerprint());
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("open_value and Keyring::open_value disagree"),
    }
});
