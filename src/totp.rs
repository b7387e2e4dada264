//! Time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps) and the
//! recovery codes that stand in for a lost authenticator.

use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha1::Sha1;

/// Seconds per step, digits per code: what every authenticator app uses by default.
pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps either side of now that are still accepted (a phone's clock a little off).
pub const SKEW_STEPS: i64 = 1;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding: how authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decode base32 (case, spaces and padding ignored); `None` for any other character.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = BASE32
            .iter()
            .position(|&b| char::from(b) == c.to_ascii_uppercase())?;
        acc = (acc << 5) | u32::try_from(v).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// A new random secret of 20 bytes (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// The HOTP value (RFC 4226) of a counter, truncated to `digits`.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// The step a unix time falls in.
pub fn step_of(t: i64) -> i64 {
    t.div_euclid(STEP_SECONDS)
}

/// The 6-digit code of a step, zero-padded.
pub fn code_at(secret: &[u8], step: i64) -> String {
    let counter = u64::try_from(step).unwrap_or(0);
    format!(
        "{:0width$}",
        hotp(secret, counter, DIGITS),
        width = DIGITS as usize
    )
}

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not the code of any step near now (or not six digits).
    Wrong,
    /// The code of a step already used to sign in: a code works once.
    Replayed,
}

/// Check a typed code at time `t`: the step it matched, which must be later than
/// `last_step` (the last step accepted for this account) so a code is never used twice.
pub fn check(secret: &[u8], typed: &str, t: i64, last_step: i64) -> Result<i64, Refused> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.chars().all(|c| c.is_ascii_digit()) {
        return Err(Refused::Wrong);
    }
    let now = step_of(t);
    let mut replayed = false;
    for step in (now - SKEW_STEPS)..=(now + SKEW_STEPS) {
        if constant_eq(code_at(secret, step).as_bytes(), typed.as_bytes()) {
            if step > last_step {
                return Ok(step);
            }
            replayed = true;
        }
    }
    Err(if replayed {
        Refused::Replayed
    } else {
        Refused::Wrong
    })
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let issuer_enc = utf8_percent_encode(issuer, NON_ALPHANUMERIC);
    let account_enc = utf8_percent_encode(account, NON_ALPHANUMERIC);
    format!(
        "otpauth://totp/{issuer_enc}:{account_enc}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32(secret)
    )
}

/// The QR code of a text as an SVG element (served inline; no external service sees it).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// New recovery codes: ten groups `xxxx-xxxx` of lower-case letters and digits without the
/// easily confused ones (0/o, 1/l/i).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut s = String::with_capacity(9);
            for i in 0..8 {
                if i == 4 {
                    s.push('-');
                }
                let k = usize::try_from(rng.next_u32()).unwrap_or(0) % ALPHABET.len();
                s.push(char::from(ALPHABET[k]));
            }
            s
        })
        .collect()
}

/// A typed recovery code in its stored form: lower case, no spaces or dashes.
pub fn normalise_recovery(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, the SHA-1 rows (8 digits there; the last six are ours).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, want) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let counter = u64::try_from(step_of(t)).unwrap();
            assert_eq!(format!("{:08}", hotp(secret, counter, 8)), want, "t={t}");
            assert_eq!(code_at(secret, step_of(t)), want[2..], "t={t}");
        }
    }

    #[test]
    fn base32_round_trip_and_rfc4648_vector() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(from_base32("mzxw 6ytb oi======").unwrap(), b"foobar");
        let s = new_secret();
        assert_eq!(from_base32(&base32(&s)).unwrap(), s);
        assert!(from_base32("MZ1W").is_none());
    }

    #[test]
    fn a_code_works_once_and_only_near_now() {
        let secret = b"12345678901234567890";
        let t = 1_234_567_890;
        let code = code_at(secret, step_of(t));
        let step = check(secret, &code, t, 0).unwrap();
        assert_eq!(check(secret, &code, t, step), Err(Refused::Replayed));
        assert_eq!(
            check(secret, &code, t + 10 * STEP_SECONDS, 0),
            Err(Refused::Wrong)
        );
        assert_eq!(check(secret, "12345", t, 0), Err(Refused::Wrong));
        // A phone one step behind is still accepted.
        let behind = code_at(secret, step_of(t) - 1);
        assert!(check(secret, &behind, t, 0).is_ok());
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), codes.len());
        assert_eq!(normalise_recovery(" ABCD-efgh "), "abcdefgh");
        assert!(
            qr_svg(&otpauth_uri("登记", "a", b"x"))
                .unwrap()
                .contains("<svg")
        );
    }
}
