//! Routing of HTTP requests, refused like the reference server does.

use super::upgrade::UpgradeState;
use super::{Engine, Transport};
use crate::error::RequestError;
use crate::v3::Protocol;

/// The HTTP method of a request, as far as Engine.IO distinguishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// Any other method.
    Other,
}

/// What the engine needs to know of an HTTP request to route it.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The request method.
    pub method: Method,
    /// The `transport` query parameter.
    pub transport: Option<&'a str>,
    /// The `EIO` query parameter.
    pub eio: Option<&'a str>,
    /// The `sid` query parameter.
    pub sid: Option<&'a str>,
    /// Whether the request asks for a WebSocket upgrade (`Upgrade: websocket`).
    pub websocket_upgrade: bool,
}

/// Where a valid request goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A new session over this transport (the app's `allowRequest` runs first).
    Handshake(Transport),
    /// A long-polling GET of an existing session.
    Poll(String),
    /// A long-polling POST of an existing session.
    Post(String),
    /// A WebSocket upgrade of an existing polling session.
    Upgrade(String),
    /// A WebSocket for a session that is already upgrading or on WebSocket:
    /// accepted and closed at once, as the reference server does.
    CloseAtOnce(String),
}

impl Engine {
    /// Routes a request, refusing it like the reference server does.
    pub fn classify(&self, req: &RequestInfo<'_>) -> Result<Route, RequestError> {
        let transport = match req.transport {
            Some("polling") if self.config.polling => Transport::Polling,
            Some("websocket") if self.config.websocket => Transport::WebSocket,
            _ => return Err(RequestError::UnknownTransport),
        };
        if let Some(sid) = req.sid {
            if transport == Transport::Polling
                && req.method == Method::Get
                && self.draining.contains_key(sid)
            {
                return Ok(Route::Poll(sid.to_owned()));
            }
            let session = self.sessions.get(sid).ok_or(RequestError::UnknownSid)?;
            return match transport {
                Transport::WebSocket if req.websocket_upgrade => {
                    if !self.config.allow_upgrades {
                        Err(RequestError::BadRequest)
                    } else if session.transport == Transport::Polling
                        && matches!(session.upgrade, UpgradeState::None)
                    {
                        Ok(Route::Upgrade(sid.to_owned()))
                    } else {
                        Ok(Route::CloseAtOnce(sid.to_owned()))
                    }
                }
                Transport::WebSocket => Err(RequestError::BadRequest),
                Transport::Polling if session.transport != Transport::Polling => {
                    Err(RequestError::BadRequest)
                }
                Transport::Polling => match req.method {
                    Method::Get => Ok(Route::Poll(sid.to_owned())),
                    Method::Post => Ok(Route::Post(sid.to_owned())),
                    Method::Other => Err(RequestError::BadRequest),
                },
            };
        }
        if req.method != Method::Get {
            return Err(RequestError::BadHandshakeMethod);
        }
        if transport == Transport::WebSocket && !req.websocket_upgrade {
            return Err(RequestError::BadRequest);
        }
        if Protocol::from_query(req.eio) == Protocol::V3 && !self.config.allow_eio3 {
            return Err(RequestError::UnsupportedProtocolVersion);
        }
        Ok(Route::Handshake(transport))
    }
}
