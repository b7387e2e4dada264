//! 统一社会信用代码 (GB 32100-2015); a law firm's code starts with `31`.

use std::fmt;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("统一社会信用代码不能为空")]
    Empty,
    #[error("统一社会信用代码应为18位，当前为{0}位")]
    Length(usize),
    #[error("统一社会信用代码含有不允许的字符（不使用I、O、Z、S、V）")]
    Characters,
    #[error("统一社会信用代码校验位不正确，请逐位核对")]
    Checksum,
    #[error("律师事务所的统一社会信用代码应以“31”开头（司法行政登记的律师执业机构）")]
    NotLawFirm,
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (which must be in the alphabet).
pub fn check_char(first17: &[u8]) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    Some(char::from(ALPHABET[((31 - sum % 31) % 31) as usize]))
}

impl CreditCode {
    /// Any valid code, upper-cased.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let s = input.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(CreditCodeError::Empty);
        }
        let n = s.chars().count();
        if n != 18 {
            return Err(CreditCodeError::Length(n));
        }
        let b = s.as_bytes();
        if !b.iter().all(|c| value(*c).is_some()) {
            return Err(CreditCodeError::Characters);
        }
        if check_char(&b[..17]) != Some(char::from(b[17])) {
            return Err(CreditCodeError::Checksum);
        }
        Ok(Self(s))
    }

    /// A valid code that is registered by 司法行政 as a 律师执业机构 (prefix `31`).
    pub fn parse_law_firm(input: &str) -> Result<Self, CreditCodeError> {
        let code = Self::parse(input)?;
        if !code.0.starts_with("31") {
            return Err(CreditCodeError::NotLawFirm);
        }
        Ok(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.0)
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        assert!(CreditCode::parse_law_firm("31110000E00012345E").is_ok());
        assert!(CreditCode::parse_law_firm("31110000e00012345e").is_ok());
        assert_eq!(
            CreditCode::parse_law_firm("91110000E00012345X").map(|_| ()),
            // Whatever the checksum says, a 91 code is never a law firm's.
            CreditCode::parse("91110000E00012345X").and(Err(CreditCodeError::NotLawFirm))
        );
    }

    #[test]
    fn bad_codes() {
        assert_eq!(CreditCode::parse(" "), Err(CreditCodeError::Empty));
        assert_eq!(
            CreditCode::parse("31110000E0001234"),
            Err(CreditCodeError::Length(16))
        );
        assert_eq!(
            CreditCode::parse("31110000I00012345E"),
            Err(CreditCodeError::Characters)
        );
        assert_eq!(
            CreditCode::parse("31110000E00012345F"),
            Err(CreditCodeError::Checksum)
        );
    }

    #[test]
    fn exactly_one_check_char_fits() {
        let body = "31110000E00012345";
        let fits: Vec<char> = ALPHABET
            .iter()
            .map(|c| format!("{body}{}", char::from(*c)))
            .filter(|s| CreditCode::parse(s).is_ok())
            .map(|s| s.chars().last().unwrap())
            .collect();
        assert_eq!(fits, vec!['E']);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// For any 17 characters of the alphabet exactly one check character is accepted.
        #[test]
        fn exactly_one_check_character(body in proptest::collection::vec(0usize..31, 17)) {
            let body: String = body.iter().map(|i| char::from(ALPHABET[*i])).collect();
            let accepted: Vec<char> = ALPHABET
                .iter()
                .map(|c| char::from(*c))
                .filter(|c| CreditCode::parse(&format!("{body}{c}")).is_ok())
                .collect();
            prop_assert_eq!(accepted.len(), 1);
            prop_assert_eq!(Some(accepted[0]), check_char(body.as_bytes()));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = CreditCode::parse(&s);
            let _ = CreditCode::parse_law_firm(&s);
        }
    }
}
