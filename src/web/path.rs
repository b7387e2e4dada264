//! The path extractor of every route: a malformed id (`/firms/new`, `/members/abc`) answers
//! the Chinese 404 page like a record that does not exist, never axum's plain-text rejection.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppError;
use crate::service::ServiceError;

/// `axum::extract::Path`, with its rejection turned into the 未找到 page.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(_) => Err(AppError::Service(ServiceError::NotFound)),
        }
    }
}
