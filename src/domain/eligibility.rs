//! Who is registered in a campaign (notice 二, and the five cases of 三（四）): decided from the
//! record itself, always with the reason in Chinese.

use time::Date;

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    pub registered: bool,
    pub reason: String,
}

/// What the decision looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// `lawyer` (附件1) or `staff` (附件2).
    pub category: &'a str,
    /// 律师执业类别 code (10th digit of the licence number): `1` 专职 …
    pub practice_type: Option<&'a str>,
    /// 岗位类别 of staff (`trainee` for 实习人员).
    pub staff_post: Option<&'a str>,
    /// The day the member started at the firm, if known.
    pub started_on: Option<Date>,
    /// The 分类处理 case (`1`–`5`) recorded in the survey, if any.
    pub case: Option<&'a str>,
    /// How the member's case ended, once it is closed.
    pub outcome: Option<crate::domain::CaseOutcome>,
}

fn no(reason: impl Into<String>) -> Eligibility {
    Eligibility {
        registered: false,
        reason: reason.into(),
    }
}

fn yes(reason: impl Into<String>) -> Eligibility {
    Eligibility {
        registered: true,
        reason: reason.into(),
    }
}

/// Decide eligibility as of the campaign's cut-off date.
pub fn decide(f: Facts<'_>, cutoff: Date) -> Eligibility {
    match f.case {
        Some("4") => {
            return no(
                "离开执业所在律师事务所六个月以上（分类处理第4类）：不再登记，由当地律师行业党组织或司法行政机关党组织联系本人转出组织关系，并书面报上级党组织",
            );
        }
        Some("5") => {
            return no(
                "拒不转入且不参加组织生活（分类处理第5类）：经批评教育仍拒不转入的，依照党章和党内有关规定处理，不再登记，并书面报上级党组织",
            );
        }
        _ => {}
    }
    if let Some(start) = f.started_on
        && start > cutoff
    {
        return no(format!(
            "截至 {cutoff} 尚未在本所执业或工作（{start} 起），不属于本次登记对象"
        ));
    }
    use crate::domain::CaseOutcome as O;
    let managed_locally = matches!(f.case, Some("1" | "2" | "3"));
    let suffix = match f.outcome {
        _ if !managed_locally => "",
        Some(O::TransferredIn) => "；组织关系已转入（分类处理已办结）",
        Some(O::IndustryReceived) => {
            "；由当地律师行业党组织或司法行政机关党组织接收并登记（分类处理已办结）"
        }
        Some(O::LocalManagement) => {
            "；组织关系暂未转入，已纳入当地律师行业党组织或司法行政机关党组织管理并登记（分类处理已办结）"
        }
        _ => "；组织关系暂未转入，纳入当地律师行业党组织或司法行政机关党组织管理并登记",
    };
    match f.category {
        "lawyer" => match f.practice_type {
            Some("1") => yes(format!("在律师事务所执业的专职律师党员，纳入登记{suffix}")),
            Some(code) => {
                let kind = match code {
                    "2" => "兼职律师",
                    "3" => "香港居民律师",
                    "4" => "澳门居民律师",
                    "5" => "台湾居民律师",
                    "6" => "公职律师",
                    "7" => "公司律师",
                    "8" => "法律援助律师",
                    "9" => "军队律师",
                    _ => "非专职律师",
                };
                no(format!(
                    "{kind}中的党员不纳入本次登记核查范围（只登记专职律师党员）"
                ))
            }
            None => no("未填写执业类别，无法判断是否为专职律师；请先填写执业类别"),
        },
        "staff" => {
            if f.staff_post == Some("trainee") {
                yes(format!(
                    "律师事务所实习人员中的党员，按工作人员党员登记（附件2）{suffix}"
                ))
            } else {
                yes(format!("律师事务所工作人员中的党员，纳入登记{suffix}"))
            }
        }
        other => no(format!("人员类别“{other}”无法识别")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const CUTOFF: Date = date!(2018 - 07 - 31);

    #[test]
    fn table() {
        let lawyer = |pt| Facts {
            category: "lawyer",
            practice_type: pt,
            ..Default::default()
        };
        let cases: Vec<(Facts<'_>, bool, &str)> = vec![
            (lawyer(Some("1")), true, "专职律师党员，纳入登记"),
            (lawyer(Some("2")), false, "兼职律师中的党员不纳入"),
            (lawyer(Some("6")), false, "公职律师"),
            (lawyer(Some("7")), false, "公司律师"),
            (lawyer(Some("8")), false, "法律援助律师"),
            (lawyer(Some("9")), false, "军队律师"),
            (lawyer(None), false, "未填写执业类别"),
            (
                Facts {
                    category: "staff",
                    ..Default::default()
                },
                true,
                "工作人员中的党员",
            ),
            (
                Facts {
                    category: "staff",
                    staff_post: Some("trainee"),
                    ..Default::default()
                },
                true,
                "实习人员",
            ),
            (
                Facts {
                    case: Some("4"),
                    ..lawyer(Some("1"))
                },
                false,
                "分类处理第4类",
            ),
            (
                Facts {
                    case: Some("5"),
                    ..lawyer(Some("1"))
                },
                false,
                "分类处理第5类",
            ),
            (
                Facts {
                    case: Some("1"),
                    ..lawyer(Some("1"))
                },
                true,
                "纳入当地律师行业党组织或司法行政机关党组织管理并登记",
            ),
            (
                Facts {
                    started_on: Some(date!(2018 - 08 - 01)),
                    ..lawyer(Some("1"))
                },
                false,
                "截至 2018-07-31 尚未",
            ),
            (
                Facts {
                    started_on: Some(date!(2018 - 07 - 31)),
                    ..lawyer(Some("1"))
                },
                true,
                "纳入登记",
            ),
        ];
        for (facts, registered, text) in cases {
            let e = decide(facts, CUTOFF);
            assert_eq!(e.registered, registered, "{facts:?}: {}", e.reason);
            assert!(e.reason.contains(text), "{facts:?}: {}", e.reason);
        }
    }
}
