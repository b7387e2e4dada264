//! The audit log read by people: each action code's Chinese name, the link of its target, and
//! its JSON detail as a readable line.

/// Every action the services record, with its name in Chinese, in the order the filter lists
/// them.
pub const ACTIONS: &[(&str, &str)] = &[
    ("login", "登录"),
    ("login.failed", "登录失败"),
    ("logout", "退出登录"),
    ("user.create", "创建账号"),
    ("user.disable", "停用账号"),
    ("user.enable", "启用账号"),
    ("user.reset_password", "重置密码"),
    ("user.change_password", "修改密码"),
    ("user.activate", "激活账号"),
    ("user.end_sessions", "结束账号全部登录"),
    ("session.end", "结束一处登录"),
    ("login.code_failed", "动态验证码错误"),
    ("totp.enable", "启用动态验证码"),
    ("totp.disable", "关闭动态验证码"),
    ("totp.reset", "清除账号的动态验证码"),
    ("totp.recovery_codes", "重新生成恢复码"),
    ("totp.required", "设置动态验证码要求"),
    ("approval.request", "申请双人复核"),
    ("approval.approve", "复核同意并执行"),
    ("approval.refuse", "复核不同意"),
    ("approval.withdraw", "撤回复核申请"),
    ("approval.stale", "复核申请失效"),
    ("registration.identity", "更正姓名或公民身份号码"),
    ("bench.write", "基准测试写入"),
    ("member.add", "添加党员"),
    ("member.activation", "生成激活码"),
    ("registration.save", "保存登记表草稿"),
    ("registration.submit", "提交登记表"),
    ("registration.approve", "审核通过"),
    ("registration.return", "退回登记表"),
    ("org_registration.save", "保存附件3"),
    ("survey.record", "摸底核查登记"),
    ("package.submit", "报送上级"),
    ("package.accept", "接收报送"),
    ("package.return", "退回报送"),
    ("package.extend", "批准延期"),
    ("remind.members", "催办党员"),
    ("remind.children", "催办下级"),
    ("import.check", "导入检查"),
    ("import.firms", "导入律师事务所名册"),
    ("import.orgs", "导入党组织名册"),
    ("import.members", "导入党员名单"),
    ("import.undo", "撤销导入"),
    ("import.lookup_limit", "全国查重达到上限"),
    ("export", "导出汇总表"),
    ("export.member_form", "导出党员登记表"),
    ("export.org_form", "导出附件3"),
    ("export.cockpit", "导出下级进度"),
    ("export.analysis", "导出研判数据"),
    ("export.reconciliation", "导出执业信息核对结果"),
    ("licensing.load", "载入全国律师综合管理系统名册"),
    ("licensing.explain", "说明执业信息核对结果"),
    ("licensing.refresh", "重新核对执业信息"),
    (
        "licensing.prefill",
        "按执业系统名册预填党员信息（含完整公民身份号码）",
    ),
    ("export.commendations", "导出表彰名单"),
    ("commendation.nominate", "推荐表彰"),
    ("commendation.forward", "审核同意并转报表彰推荐"),
    ("commendation.approve", "批准表彰"),
    ("commendation.decline", "不予同意表彰推荐"),
    ("export.case_report", "导出书面报告"),
    ("export.sample_report", "导出抽查核验报告"),
    ("export.accountability", "导出追责登记"),
    ("export.audit", "导出审计日志"),
    ("export.accesses", "导出查阅记录"),
    ("read.member", "查看党员信息"),
    ("read.members", "浏览党员名单"),
    ("read.registration", "查看登记表"),
    ("read.reviews", "查看待审核名单"),
    ("read.survey", "查看摸底核查名单"),
    ("read.summary", "查看汇总表名单"),
    ("read.case", "查看分类处理"),
    ("read.sample_item", "查看抽查记录"),
    ("reveal", "查看完整公民身份号码"),
    ("case.open", "分类处理立案"),
    ("case.step", "分类处理进展"),
    ("case.report", "分类处理书面报告"),
    ("case.close", "分类处理办结"),
    ("case.reopen", "分类处理重新办理"),
    ("sample.draw", "抽取抽查样本"),
    ("sample.assign", "分配核验人"),
    ("sample.check", "核验抽查记录"),
    ("accountability.decide", "追责处理"),
    ("campaign.new", "开始登记核查工作"),
    ("campaign.deadlines", "调整截止日期"),
    ("campaign.case_due_days", "调整分类处理期限"),
    ("campaign.close", "结束登记核查工作"),
    ("tree.init", "建立组织树"),
    ("tree.cities", "建立地市级党组织"),
    ("demo.generate", "生成演示数据"),
    ("firm.edit", "修改律师事务所信息"),
    ("firm.close", "注销律师事务所"),
    ("firm.move", "调整律师事务所所属党组织"),
    ("org.edit", "修改党组织信息"),
    ("org.dissolve", "撤销党组织"),
    ("org.merge", "合并党组织"),
    ("transfer.start", "发起组织关系转接"),
    ("transfer.accept", "接收组织关系转入"),
    ("transfer.refuse", "拒收组织关系转入"),
    ("transfer.cancel", "撤回组织关系转接"),
    ("member.stop", "停止登记"),
    ("org.reparent", "调整党组织隶属关系"),
    ("member.resume", "恢复登记"),
    ("changeset.submit", "报送定期变更"),
    ("changeset.accept", "接收下级定期变更"),
    ("changeset.return", "退回下级定期变更"),
    ("changeset.cadence", "设置定期上报周期"),
    ("change.return", "退回一条变更记录"),
    ("change.answer", "处理被退回的变更记录"),
    ("read.roster", "查看名册"),
    ("read.archive", "查看档案"),
];

/// The Chinese name of an action; an unknown code reads as itself.
pub fn action_label(code: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

/// What kind of record an event's target is, in Chinese.
pub fn target_label(kind: &str) -> &str {
    match kind {
        "member" => "党员",
        "org" => "党组织",
        "firm" => "律师事务所",
        "user" => "账号",
        "case" => "分类处理",
        "sample" => "抽查样本",
        "sample_item" => "抽查记录",
        "accountability" => "追责登记",
        "campaign" => "登记核查工作",
        "import_batch" => "导入批次",
        other => other,
    }
}

/// The page of an event's target, where there is one.
pub fn target_link(kind: &str, id: &str) -> Option<String> {
    let id: i64 = id.parse().ok().filter(|n| *n > 0)?;
    Some(match kind {
        "member" => format!("/members/{id}"),
        "org" => format!("/orgs/{id}"),
        "firm" => format!("/firms/{id}"),
        "case" => format!("/cases/{id}"),
        "sample" => format!("/samples/{id}"),
        "sample_item" => format!("/samples/items/{id}"),
        "accountability" => format!("/accountability/{id}"),
        "campaign" => "/campaign".to_owned(),
        _ => return None,
    })
}

/// Names of the detail keys the services write.
fn key_label(key: &str) -> &str {
    match key {
        "reason" => "原因",
        "note" => "说明",
        "digest" => "内容摘要",
        "version" => "版本",
        "until" => "延期至",
        "was" => "原截止日期",
        "members" => "党员",
        "notified" => "发送提醒",
        "unreachable" => "无法送达",
        "children" => "下级",
        "records" => "条数",
        "rows" => "行数",
        "from" => "来源",
        "locked" => "已锁定",
        "name" => "名称",
        "username" => "用户名",
        "role" => "角色",
        "org" => "组织",
        "count" => "数量",
        "deadline" => "截止日期",
        "code" => "代码",
        "state" => "状态",
        "outcome" => "结果",
        "category" => "类别",
        "file" => "文件",
        "kind" => "类型",
        "mode" => "方式",
        "batch" => "批次",
        "size" => "数量",
        "seed" => "种子",
        "rate" => "比例",
        "finding" => "核验结论",
        "decision" => "决定",
        "changed" => "修改的栏目",
        "fields" => "栏目",
        "late_days" => "逾期天数",
        "page" => "页",
        "purpose" => "用途",
        "export_id" => "导出编号",
        "personal" => "含个人信息",
        "ids" => "公民身份号码",
        "table" => "表",
        "format" => "格式",
        "form" => "登记表",
        "factor" => "验证方式",
        "name_was" => "原姓名",
        "citizen_id" => "公民身份号码",
        "requested_by" => "申请人",
        "summary" => "内容",
        "request" => "申请编号",
        "replacing" => "替换原验证器",
        "codes" => "恢复码个数",
        "on" => "开启",
        "session" => "登录",
        "effective_on" => "生效日期",
        "to" => "转入",
        "transfer" => "转接编号",
        "credit_code" => "统一社会信用代码",
        "created" => "新建党组织",
        "as_of" => "截至日期",
        "roster" => "名册",
        "period" => "报送期间",
        "destination" => "去向",
        "changes" => "变更条数",
        "official" => "转为正式的变更条数",
        "cadence" => "上报周期",
        "change" => "变更记录编号",
        other => other,
    }
}

fn value_text(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) if s == "masked" => "脱敏".to_owned(),
        Value::String(s) if s == "full" => "完整".to_owned(),
        Value::String(s) if s == "password" => "密码".to_owned(),
        Value::String(s) if s == "totp" => "密码和动态验证码".to_owned(),
        Value::String(s) if s == "recovery" => "密码和恢复码".to_owned(),
        Value::Null => "（空）".to_owned(),
        Value::Bool(true) => "是".to_owned(),
        Value::Bool(false) => "否".to_owned(),
        Value::Number(n) => n.to_string(),
        // Digests are long hex: their first 16 characters identify them.
        Value::String(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            format!("{}…", &s[..16])
        }
        Value::String(s) if s.is_empty() => "（空）".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join("、"),
        Value::Object(_) => detail_text(&v.to_string()),
    }
}

/// An event's JSON detail as `名称：值；…`, keys in Chinese where known; text that is not a
/// JSON object is shown as it is.
pub fn detail_text(detail: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| format!("{}：{}", key_label(k), value_text(v)))
            .collect::<Vec<_>>()
            .join("；"),
        Ok(serde_json::Value::Null) => String::new(),
        Ok(other) => value_text(&other),
        Err(_) => detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_chinese_lines() {
        let d = detail_text(r#"{"until":"2018-09-15","was":"2018-08-31","locked":false}"#);
        assert_eq!(d, "已锁定：否；延期至：2018-09-15；原截止日期：2018-08-31");
        let digest = "a".repeat(64);
        assert_eq!(
            detail_text(&format!(r#"{{"digest":"{digest}","children":[3,4]}}"#)),
            format!("下级：3、4；内容摘要：{}…", "a".repeat(16))
        );
        assert_eq!(detail_text("not json"), "not json");
        assert_eq!(detail_text("{}"), "");
    }

    #[test]
    fn every_action_has_one_name() {
        let mut codes: Vec<&str> = ACTIONS.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ACTIONS.len());
        assert_eq!(action_label("package.accept"), "接收报送");
        assert_eq!(action_label("something.new"), "something.new");
        assert_eq!(target_link("member", "12").as_deref(), Some("/members/12"));
        assert_eq!(target_link("member", "x"), None);
    }
}
