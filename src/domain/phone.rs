//! Mobile numbers: 11 digits starting 1[3-9]; spaces, hyphens and a +86 prefix are stripped.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mobile(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MobileError {
    #[error("手机号码应为11位数字，以13–19开头")]
    Invalid,
}

impl Mobile {
    pub fn parse(input: &str) -> Result<Self, MobileError> {
        let mut s: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        for prefix in ["+86", "0086"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest.to_owned();
            }
        }
        let b = s.as_bytes();
        if b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && b[1] >= b'3' {
            Ok(Self(s))
        } else {
            Err(MobileError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        for ok in ["13800138000", "+86 138-0013-8000", "008619912345678"] {
            assert!(Mobile::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "12800138000",
            "1380013800",
            "138001380001",
            "1380013800a",
        ] {
            assert_eq!(Mobile::parse(bad), Err(MobileError::Invalid), "{bad}");
        }
    }
}
