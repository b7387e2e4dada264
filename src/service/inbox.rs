//! The in-app inbox of the signed-in user.

use super::{Caller, ServiceError, ServiceResult};
use crate::store::notifications;

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::notifications::Notification;

super::area!(InboxService);

impl InboxService<'_> {
    /// The caller's newest notices (the operator has none).
    pub async fn list(&self, caller: Caller<'_>) -> ServiceResult<Vec<Notification>> {
        let Some(user) = caller.user_id() else {
            return Ok(Vec::new());
        };
        let mut conn = self.db.acquire().await?;
        Ok(notifications::list(&mut conn, user, 200).await?)
    }

    pub async fn unread_count(&self, caller: Caller<'_>) -> ServiceResult<i64> {
        let Some(user) = caller.user_id() else {
            return Ok(0);
        };
        let mut conn = self.db.acquire().await?;
        Ok(notifications::unread_count(&mut conn, user).await?)
    }

    /// Mark one of the caller's notices read and return where it points; `None` marks all.
    pub async fn mark_read(
        &self,
        caller: Caller<'_>,
        id: Option<i64>,
    ) -> ServiceResult<Option<String>> {
        let Some(user) = caller.user_id() else {
            return Ok(None);
        };
        let mut conn = self.db.acquire().await?;
        let link = match id {
            Some(id) => Some(
                notifications::list(&mut conn, user, 10_000)
                    .await?
                    .into_iter()
                    .find(|n| n.id == id)
                    .ok_or(ServiceError::NotFound)?
                    .link,
            ),
            None => None,
        };
        notifications::mark_read(&mut conn, user, id).await?;
        Ok(link)
    }
}
