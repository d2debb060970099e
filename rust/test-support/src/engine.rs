//! Driving an [`Engine`]: the harness calls, and the actions a test expects.

use engineio_core::{
    Action, CloseReason, ContentType, Data, Engine, EngineConfig, Frame, Method, ReqId,
    RequestError, RequestInfo, Route, Transport,
};

pub use crate::actions::*;

/// An engine driven by a fake clock.
pub type Harness = crate::Harness<Engine>;

/// The default `pingInterval`.
pub const INTERVAL: u64 = 25_000;
/// The default `pingTimeout`.
pub const TIMEOUT: u64 = 20_000;

impl crate::Harness<Engine> {
    /// An engine with `config`.
    pub fn new(config: EngineConfig) -> Self {
        Self::driving(Engine::new(config))
    }

    /// An engine with the default options.
    pub fn default_config() -> Self {
        Self::new(EngineConfig::default())
    }

    /// The engine's options.
    pub fn config(&self) -> EngineConfig {
        self.server.config().clone()
    }

    /// Opens a polling session; returns the sid, the handshake request and the actions.
    pub fn open_polling(&mut self) -> (String, ReqId, Vec<Action>) {
        let req = self.req();
        let random = self.random();
        let (sid, actions) = self
            .server
            .open(self.now, Transport::Polling, Some(req), &random);
        (sid, req, actions)
    }

    /// Opens a WebSocket session; returns the sid and the actions.
    pub fn open_ws(&mut self) -> (String, Vec<Action>) {
        let random = self.random();
        self.server
            .open(self.now, Transport::WebSocket, None, &random)
    }

    /// Sends a long-polling GET for `sid`; returns its id and the actions.
    pub fn poll(&mut self, sid: &str) -> (ReqId, Vec<Action>) {
        let req = self.req();
        let actions = self.server.poll(self.now, sid, req);
        (req, actions)
    }

    /// Sends a long-polling POST for `sid`; returns its id and the actions.
    pub fn post(&mut self, sid: &str, body: &[u8]) -> (ReqId, Vec<Action>) {
        let req = self.req();
        let actions = self.server.post(self.now, sid, req, None, body);
        (req, actions)
    }

    /// A text frame from the client on the WebSocket of `sid`.
    pub fn ws_text(&mut self, sid: &str, frame: &str) -> Vec<Action> {
        self.server.ws_text(self.now, sid, frame)
    }

    /// A binary frame from the client on the WebSocket of `sid`.
    pub fn ws_binary(&mut self, sid: &str, frame: &[u8]) -> Vec<Action> {
        self.server.ws_binary(self.now, sid, frame)
    }

    /// The alarm fires.
    pub fn tick(&mut self) -> Vec<Action> {
        self.server.tick(self.now)
    }

    /// Sends a text message and flushes, as a driver does.
    pub fn send_text(&mut self, sid: &str, text: &str) -> Vec<Action> {
        let mut actions = self.server.send(self.now, sid, Data::Text(text.to_owned()));
        actions.extend(self.server.flush(self.now));
        actions
    }

    /// Routes a request.
    pub fn classify(
        &self,
        method: Method,
        transport: Option<&str>,
        eio: Option<&str>,
        sid: Option<&str>,
        websocket_upgrade: bool,
    ) -> Result<Route, RequestError> {
        self.server.classify(&RequestInfo {
            method,
            transport,
            eio,
            sid,
            websocket_upgrade,
        })
    }

    /// Routes a polling GET of `sid`.
    pub fn classify_poll(&self, sid: &str) -> Result<Route, RequestError> {
        self.classify(Method::Get, Some("polling"), Some("4"), Some(sid), false)
    }

    /// Routes a WebSocket upgrade request of `sid`.
    pub fn classify_upgrade(&self, sid: &str) -> Result<Route, RequestError> {
        self.classify(Method::Get, Some("websocket"), Some("4"), Some(sid), true)
    }

    /// Runs a full upgrade of the polling session `sid` to WebSocket.
    pub fn upgrade(&mut self, sid: &str) -> Vec<Action> {
        assert_eq!(
            self.classify_upgrade(sid),
            Ok(Route::Upgrade(sid.to_owned()))
        );
        let mut actions = self
            .server
            .begin_upgrade(self.now, sid)
            .unwrap_or_else(|e| panic!("the upgrade of {sid} is refused: {e:?}"));
        actions.extend(self.ws_text(sid, "2probe"));
        actions.extend(self.ws_text(sid, "5"));
        assert_eq!(self.server.transport_of(sid), Some(Transport::WebSocket));
        actions
    }
}

/// A `200` polling payload answer.
pub fn payload(req: ReqId, body: &str) -> Action {
    Action::Respond {
        req,
        status: 200,
        content_type: ContentType::Payload,
        body: body.to_owned(),
    }
}

/// The `200 ok` answer to a POST.
pub fn ok(req: ReqId) -> Action {
    Action::Respond {
        req,
        status: 200,
        content_type: ContentType::Ok,
        body: "ok".to_owned(),
    }
}

/// A `400` answer with the JSON body of `err`.
pub fn json_error(req: ReqId, err: RequestError) -> Action {
    Action::Respond {
        req,
        status: 400,
        content_type: ContentType::Json,
        body: err.body(),
    }
}

/// An answer without a body.
pub fn empty_status(req: ReqId, status: u16) -> Action {
    Action::Respond {
        req,
        status,
        content_type: ContentType::Empty,
        body: String::new(),
    }
}

/// Session `sid` closed for `reason`.
pub fn closed(sid: &str, reason: CloseReason) -> Action {
    Action::Closed {
        sid: sid.to_owned(),
        reason,
    }
}

/// A text frame to the WebSocket of `sid`.
pub fn ws_text_frame(sid: &str, text: &str) -> Action {
    Action::WsSend {
        sid: sid.to_owned(),
        frame: Frame::Text(text.to_owned()),
    }
}

/// A binary frame to the WebSocket of `sid`.
pub fn ws_binary_frame(sid: &str, bytes: &[u8]) -> Action {
    Action::WsSend {
        sid: sid.to_owned(),
        frame: Frame::Binary(bytes.to_vec()),
    }
}

/// The WebSocket of `sid` closes with `code` and `reason`.
pub fn ws_close(sid: &str, code: u16, reason: &'static str) -> Action {
    Action::WsClose {
        sid: sid.to_owned(),
        code,
        reason,
    }
}

/// A text message from the client of `sid`.
pub fn message(sid: &str, text: &str) -> Action {
    Action::Message {
        sid: sid.to_owned(),
        data: Data::Text(text.to_owned()),
    }
}

/// The session an action is about, if any.
pub fn sid_of(action: &Action) -> Option<&str> {
    match action {
        Action::Opened { sid, .. }
        | Action::Message { sid, .. }
        | Action::Closed { sid, .. }
        | Action::WsSend { sid, .. }
        | Action::WsClose { sid, .. } => Some(sid),
        Action::Persist(s) => Some(&s.sid),
        Action::WsSendMany { .. } | Action::Respond { .. } | Action::SetAlarm { .. } => None,
    }
}
