//! 催办: reminders into the inbox of those who have not finished — the members of a subtree
//! whose form is not in, or the child nodes that have not submitted their package — each
//! logged, and at most one per recipient and day.

use super::package::{NodeDeadline, base_deadline};
use super::{Caller, ServiceError, ServiceResult, beijing_today};
use crate::authz::Action;
use crate::domain::{NoticeKind, OrgId, OrgLevel};
use crate::store::audit::{self, NewEvent};
use crate::store::notifications::{self, To};
use crate::store::{orgs, packages};

/// What a reminder reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reminded {
    /// Members (or child nodes) reminded.
    pub targets: i64,
    /// Accounts that got a notice now (those already reminded today get none).
    pub notified: u64,
    /// Members without an active account (or nodes without a working account): to be told
    /// by phone or in person.
    pub unreachable: i64,
    /// The targets were child nodes, not members.
    pub nodes: bool,
}

impl Reminded {
    /// The sentence shown after a reminder.
    pub fn message(&self) -> String {
        let mut s = format!(
            "已催办 {} 个对象，发送站内提醒 {} 条",
            self.targets, self.notified
        );
        if self.notified == 0 && self.targets > 0 {
            s.push_str("（今天已催办过的不再重复发送）");
        }
        if self.unreachable > 0 && self.nodes {
            s.push_str(&format!(
                "；其中 {} 个组织尚无经办账号，站内提醒无法送达，请电话通知",
                self.unreachable
            ));
        } else if self.unreachable > 0 {
            s.push_str(&format!(
                "；其中 {} 人尚未激活账号，站内提醒无法送达，请电话或当面通知",
                self.unreachable
            ));
        }
        s
    }
}

super::area!(RemindService);

impl RemindService<'_> {
    /// Remind every member of `org`'s subtree whose form is not in (未填报, 草稿, 已退回).
    pub async fn members(&self, caller: Caller<'_>, org_id: OrgId) -> ServiceResult<Reminded> {
        caller.require(Action::Remind, None)?;
        let mut tx = self.db.begin().await?;
        let org = super::readable_org(&mut tx, caller, org_id).await?;
        caller.require(Action::Remind, Some(&org.path))?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        let (targets, reachable) =
            notifications::unsubmitted_members(&mut tx, campaign.id, &org.path).await?;
        if targets == 0 {
            return Err(ServiceError::invalid(
                "催办",
                "本组织党员的登记表均已提交，无需催办",
            ));
        }
        let title = format!(
            "{}催办：请尽快填写并提交党员基本信息登记表（律师事务所党组织审核截止 {}）",
            org.name, campaign.deadline_firm
        );
        let today = beijing_today();
        let notified = notifications::send_to_unsubmitted(
            &mut tx,
            campaign.id,
            &org.path,
            (NoticeKind::Reminder, &title, "/"),
            &format!("remind:{today}"),
        )
        .await?;
        let done = Reminded {
            targets,
            notified,
            unreachable: targets - reachable,
            nodes: false,
        };
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "remind.members",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "members": targets, "notified": notified, "unreachable": done.unreachable,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Remind the child nodes of `parent` that have not handed in their package (or only
    /// `child`), through their 经办人, 审核人 and administrators.
    pub async fn children(
        &self,
        caller: Caller<'_>,
        parent_id: OrgId,
        child: Option<OrgId>,
    ) -> ServiceResult<Reminded> {
        caller.require(Action::Remind, None)?;
        let mut tx = self.db.begin().await?;
        let parent = super::readable_org(&mut tx, caller, parent_id).await?;
        caller.require(Action::Remind, Some(&parent.path))?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        let handed_in: Vec<OrgId> = packages::of_children(&mut tx, campaign.id, parent.id)
            .await?
            .into_iter()
            .filter(|p| p.state.is_with_parent())
            .map(|p| p.org_id)
            .collect();
        let children = orgs::children(&mut tx, parent.id, 1_000_000).await?;
        if let Some(c) = child {
            if !children.iter().any(|o| o.id == c) {
                return Err(ServiceError::NotFound);
            }
            if handed_in.contains(&c) {
                return Err(ServiceError::invalid("催办", "该组织已报送，无需催办"));
            }
        }
        let targets: Vec<_> = children
            .into_iter()
            .filter(|o| child.is_none_or(|c| c == o.id) && !handed_in.contains(&o.id))
            .collect();
        if targets.is_empty() {
            return Err(ServiceError::invalid("催办", "下级组织均已报送，无需催办"));
        }
        let today = beijing_today();
        let key = format!("remind:{today}:{}", parent.id);
        let mut notified = 0;
        let mut unreachable = 0;
        for o in &targets {
            let level = o.level;
            let extension = packages::extension_of(&mut tx, campaign.id, o.id).await?;
            let deadline = NodeDeadline::new(&campaign, level, extension);
            let title = format!(
                "{}催办：请于 {} 前完成本级审核并向上级报送",
                parent.name, deadline.effective
            );
            let sent = notifications::send(
                &mut tx,
                To::Staff(o.id),
                NoticeKind::Reminder,
                &title,
                &format!("/orgs/{}/package", o.id),
                Some(&key),
            )
            .await?;
            if sent == 0 && !notifications::staff_exists(&mut tx, o.id).await? {
                unreachable += 1;
            }
            notified += sent;
        }
        let done = Reminded {
            targets: targets.len() as i64,
            notified,
            unreachable,
            nodes: true,
        };
        let ids: Vec<i64> = targets.iter().map(|o| o.id.0).collect();
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "remind.children",
                target_kind: "org",
                target_id: parent.id.to_string(),
                target_path: &parent.path,
                detail: serde_json::json!({
                    "children": ids, "notified": notified,
                    "deadline": base_deadline(&campaign, parent.level.child().unwrap_or(OrgLevel::Firm)),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(done)
    }
}
