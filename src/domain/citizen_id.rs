//! 公民身份号码 (GB 11643-1999): 18 characters, ISO 7064 MOD 11-2 check character.

use std::fmt;
use time::Date;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// A citizen ID number that passed the structural and checksum rules. Its `Debug` output is
/// masked so that it can never reach a log line by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CitizenId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CitizenIdError {
    #[error("公民身份号码不能为空")]
    Empty,
    #[error("公民身份号码应为18位，当前为{0}位")]
    Length(usize),
    #[error("公民身份号码前17位应为数字，第18位为数字或X")]
    Characters,
    #[error("公民身份号码中的出生日期不是有效日期")]
    BirthDate,
    #[error("公民身份号码中的出生日期晚于今天")]
    FutureBirthDate,
    #[error("公民身份号码前两位不是有效的省级行政区划代码")]
    Province,
    #[error("公民身份号码校验位不正确，请逐位核对")]
    Checksum,
}

/// Province prefixes of GB/T 2260 (including 71 台湾, 81 香港, 82 澳门).
const PROVINCES: [u32; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    char::from(CHECK[(sum % 11) as usize])
}

impl CitizenId {
    /// Parse user input: trims spaces, accepts a lower-case `x`, checks length, characters,
    /// province prefix, birth date (real, not after `today`) and the check character.
    pub fn parse(input: &str, today: Date) -> Result<Self, CitizenIdError> {
        let s: String = input.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(CitizenIdError::Empty);
        }
        let n = s.chars().count();
        if n != 18 {
            return Err(CitizenIdError::Length(n));
        }
        let b = s.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(CitizenIdError::Characters);
        }
        let province = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
        if !PROVINCES.contains(&province) {
            return Err(CitizenIdError::Province);
        }
        let birth = Self::birth_from(&s).ok_or(CitizenIdError::BirthDate)?;
        if birth > today {
            return Err(CitizenIdError::FutureBirthDate);
        }
        if check_char(&b[..17]) != char::from(b[17]) {
            return Err(CitizenIdError::Checksum);
        }
        Ok(Self(s))
    }

    fn birth_from(s: &str) -> Option<Date> {
        let y: i32 = s.get(6..10)?.parse().ok()?;
        let m: u8 = s.get(10..12)?.parse().ok()?;
        let d: u8 = s.get(12..14)?.parse().ok()?;
        if y < 1900 {
            return None;
        }
        Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Date {
        // Checked in `parse`; the fallback is unreachable for a parsed value.
        Self::birth_from(&self.0).unwrap_or(Date::MIN)
    }

    /// 1 = 男 (odd 17th digit), 2 = 女 (even), as in GB/T 2261.1.
    pub fn sex_code(&self) -> &'static str {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            "1"
        } else {
            "2"
        }
    }

    /// The form shown in lists: region code and check part kept, birth date and sequence hidden.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

impl fmt::Debug for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CitizenId({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 27);

    #[test]
    fn known_good_numbers() {
        for s in [
            "11010519491231002X",
            "440304198507151239",
            "11010519491231002x",
        ] {
            let id = CitizenId::parse(s, TODAY).unwrap();
            assert_eq!(id.as_str(), s.to_ascii_uppercase());
        }
        let id = CitizenId::parse("11010519491231002X", TODAY).unwrap();
        assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(id.sex_code(), "2");
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(format!("{id:?}"), "CitizenId(110105********002X)");
    }

    #[test]
    fn bad_numbers_name_the_reason() {
        let cases = [
            ("", CitizenIdError::Empty),
            ("1101051949123100", CitizenIdError::Length(16)),
            ("11010519491231002X1", CitizenIdError::Length(19)),
            ("1101051949123100AX", CitizenIdError::Characters),
            (
                "１１０１０５１９４９１２３１００２Ｘ",
                CitizenIdError::Length(18),
            ),
            ("990105194912310020", CitizenIdError::Province),
            ("110105194902300020", CitizenIdError::BirthDate),
            ("110105209901010020", CitizenIdError::FutureBirthDate),
            ("110105194912310021", CitizenIdError::Checksum),
        ];
        for (input, want) in cases {
            let got = CitizenId::parse(input, TODAY);
            // Full-width digits have 18 chars but are not ASCII digits.
            if input.starts_with('１') {
                assert_eq!(got, Err(CitizenIdError::Characters), "{input}");
            } else {
                assert_eq!(got, Err(want), "{input}");
            }
        }
    }

    #[test]
    fn every_wrong_check_char_is_refused() {
        let body = "44030419850715123";
        for c in "0123456789X".chars() {
            let s = format!("{body}{c}");
            let ok = CitizenId::parse(&s, TODAY).is_ok();
            assert_eq!(ok, c == '9', "{s}");
        }
    }

    #[test]
    fn single_digit_changes_are_always_caught() {
        // MOD 11-2 detects every single-digit substitution; walk them all for one number.
        let good = b"440304198507151239";
        for pos in 0..17 {
            for d in b'0'..=b'9' {
                if d == good[pos] {
                    continue;
                }
                let mut v = good.to_vec();
                v[pos] = d;
                let s = String::from_utf8(v).unwrap();
                assert!(CitizenId::parse(&s, TODAY).is_err(), "{s}");
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    proptest! {
        /// Any real birth date, any sequence: the computed check character is accepted and
        /// every other one refused.
        #[test]
        fn check_character_decides(
            province in proptest::sample::select(vec![11u32, 31, 44, 65]),
            days in 0i64..30_000,
            seq in 0u32..1000,
            wrong in 0usize..11,
        ) {
            let birth = date!(1930 - 01 - 01) + time::Duration::days(days);
            let body = format!(
                "{province}0101{:04}{:02}{:02}{seq:03}",
                birth.year(),
                u8::from(birth.month()),
                birth.day()
            );
            let good = check_char(body.as_bytes());
            let parsed = CitizenId::parse(&format!("{body}{good}"), date!(2026 - 01 - 01)).unwrap();
            prop_assert_eq!(parsed.birth_date(), birth);
            let other = char::from(CHECK[wrong]);
            if other != good {
                prop_assert_eq!(
                    CitizenId::parse(&format!("{body}{other}"), date!(2026 - 01 - 01)),
                    Err(CitizenIdError::Checksum)
                );
            }
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = CitizenId::parse(&s, date!(2026 - 01 - 01));
        }
    }
}
