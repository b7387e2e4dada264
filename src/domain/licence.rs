//! 律师执业证号: 17 digits (1 + province + city + first-licence year + practice type + sex + serial).

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LicenceNo(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceNoError {
    #[error("执业证号不能为空")]
    Empty,
    #[error("执业证号应为17位数字，当前为{0}位")]
    Length(usize),
    #[error("执业证号只能由数字组成")]
    Characters,
}

impl LicenceNo {
    pub fn parse(input: &str) -> Result<Self, LicenceNoError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(LicenceNoError::Empty);
        }
        if !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(LicenceNoError::Characters);
        }
        if s.len() != 17 {
            return Err(LicenceNoError::Length(s.len()));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits 6–9: the year the first licence was issued.
    pub fn first_year(&self) -> i32 {
        self.0[5..9].parse().unwrap_or(0)
    }

    /// Digit 10: 1 专职, 2 兼职, 3 香港, 4 澳门, 5 台湾 ….
    pub fn practice_type(&self) -> char {
        char::from(self.0.as_bytes()[9])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reads_parts() {
        let l = LicenceNo::parse(" 11101201511234567 ").unwrap();
        assert_eq!(l.first_year(), 2015);
        assert_eq!(l.practice_type(), '1');
        assert_eq!(LicenceNo::parse(""), Err(LicenceNoError::Empty));
        assert_eq!(
            LicenceNo::parse("1110120151123456"),
            Err(LicenceNoError::Length(16))
        );
        assert_eq!(
            LicenceNo::parse("1110120151123456A"),
            Err(LicenceNoError::Characters)
        );
    }
}
