//! The address a request comes from: the connection's peer, or — when that peer is one of the
//! configured trusted reverse proxies — the last address in `X-Forwarded-For` that is not one.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::AppState;

/// The client's address as text (none when the server was not told, as in tests).
#[derive(Debug, Clone, Default)]
pub struct ClientAddr(pub Option<String>);

impl ClientAddr {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// The client behind `peer`, given the `X-Forwarded-For` values of the request.
pub fn client_of(peer: IpAddr, forwarded: &[&str], trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    // Each proxy appends the address it received from; read from the right.
    let mut client = peer;
    for hop in forwarded
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rev()
    {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            // Something a proxy did not write: stop at what is known.
            Err(_) => break,
        }
    }
    client
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(Self(None));
        };
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(Self(Some(
            client_of(peer.ip(), &forwarded, &state.trusted_proxies).to_string(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = [ip("127.0.0.1")];
        // No proxy configured: the peer, whatever the header says.
        assert_eq!(client_of(ip("10.0.0.9"), &["1.2.3.4"], &[]), ip("10.0.0.9"));
        // A trusted proxy: the address it received from.
        assert_eq!(
            client_of(ip("127.0.0.1"), &["1.2.3.4"], &proxy),
            ip("1.2.3.4")
        );
        // A client cannot hide behind a forged first entry.
        assert_eq!(
            client_of(ip("127.0.0.1"), &["6.6.6.6, 1.2.3.4"], &proxy),
            ip("1.2.3.4")
        );
        assert_eq!(client_of(ip("127.0.0.1"), &[], &proxy), ip("127.0.0.1"));
        assert_eq!(
            client_of(ip("127.0.0.1"), &["junk"], &proxy),
            ip("127.0.0.1")
        );
    }
}
