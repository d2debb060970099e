//! Shared helpers for the integration tests: a fake clock, request ids and
//! small accessors over the actions returned by the engine.

#![allow(dead_code)]

use engineio_core::{
    Action, CloseReason, ContentType, Data, Engine, EngineConfig, Frame, Method, ReqId,
    RequestError, RequestInfo, Route, Transport, SID_RANDOM_BYTES,
};

/// An engine driven by a fake clock.
pub struct Harness {
    pub engine: Engine,
    pub now: u64,
    next_req: ReqId,
    next_seed: u8,
}

impl Harness {
    pub fn new(config: EngineConfig) -> Self {
        Harness {
            engine: Engine::new(config),
            now: 1_000,
            next_req: 1,
            next_seed: 1,
        }
    }

    pub fn default_config() -> Self {
        Self::new(EngineConfig::default())
    }

    pub fn config(&self) -> EngineConfig {
        self.engine.config().clone()
    }

    /// Moves the fake clock forward.
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    /// A fresh request id.
    pub fn req(&mut self) -> ReqId {
        let r = self.next_req;
        self.next_req += 1;
        r
    }

    /// Distinct random bytes for each session opened by the harness.
    fn random(&mut self) -> [u8; SID_RANDOM_BYTES] {
        let seed = self.next_seed;
        self.next_seed = self.next_seed.wrapping_add(1);
        let mut r = [0u8; SID_RANDOM_BYTES];
        for (i, b) in r.iter_mut().enumerate() {
            *b = seed.wrapping_mul(31).wrapping_add(i as u8 * 7);
        }
        r
    }

    /// Opens a polling session; returns the sid, the handshake request and the actions.
    pub fn open_polling(&mut self) -> (String, ReqId, Vec<Action>) {
        let req = self.req();
        let random = self.random();
        let (sid, actions) = self
            .engine
            .open(self.now, Transport::Polling, Some(req), &random);
        (sid, req, actions)
    }

    /// Opens a WebSocket session.
    pub fn open_ws(&mut self) -> (String, Vec<Action>) {
        let random = self.random();
        self.engine
            .open(self.now, Transport::WebSocket, None, &random)
    }

    /// Sends a long-polling GET for `sid`; returns its id and the actions.
    pub fn poll(&mut self, sid: &str) -> (ReqId, Vec<Action>) {
        let req = self.req();
        let actions = self.engine.poll(self.now, sid, req);
        (req, actions)
    }

    /// Sends a long-polling POST for `sid`.
    pub fn post(&mut self, sid: &str, body: &[u8]) -> (ReqId, Vec<Action>) {
        let req = self.req();
        let actions = self.engine.post(self.now, sid, req, None, body);
        (req, actions)
    }

    pub fn ws_text(&mut self, sid: &str, frame: &str) -> Vec<Action> {
        self.engine.ws_text(self.now, sid, frame)
    }

    pub fn ws_binary(&mut self, sid: &str, frame: &[u8]) -> Vec<Action> {
        self.engine.ws_binary(self.now, sid, frame)
    }

    pub fn tick(&mut self) -> Vec<Action> {
        self.engine.tick(self.now)
    }

    /// Sends a text message and flushes, as a driver does.
    pub fn send_text(&mut self, sid: &str, text: &str) -> Vec<Action> {
        let mut actions = self.engine.send(self.now, sid, Data::Text(text.to_owned()));
        actions.extend(self.engine.flush(self.now));
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
        self.engine.classify(&RequestInfo {
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
        let mut actions = self.engine.begin_upgrade(self.now, sid).unwrap();
        actions.extend(self.ws_text(sid, "2probe"));
        actions.extend(self.ws_text(sid, "5"));
        assert_eq!(self.engine.transport_of(sid), Some(Transport::WebSocket));
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

/// An error answer with a JSON body.
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

pub fn closed(sid: &str, reason: CloseReason) -> Action {
    Action::Closed {
        sid: sid.to_owned(),
        reason,
    }
}

pub fn ws_text_frame(sid: &str, text: &str) -> Action {
    Action::WsSend {
        sid: sid.to_owned(),
        frame: Frame::Text(text.to_owned()),
    }
}

pub fn ws_close(sid: &str, code: u16, reason: &'static str) -> Action {
    Action::WsClose {
        sid: sid.to_owned(),
        code,
        reason,
    }
}

pub fn message(sid: &str, text: &str) -> Action {
    Action::Message {
        sid: sid.to_owned(),
        data: Data::Text(text.to_owned()),
    }
}

/// The alarm times requested by `actions`.
pub fn alarms(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SetAlarm { at } => Some(*at),
            _ => None,
        })
        .collect()
}

/// The `Closed` actions of `actions`.
pub fn closes(actions: &[Action]) -> Vec<(String, CloseReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Closed { sid, reason } => Some((sid.clone(), *reason)),
            _ => None,
        })
        .collect()
}

/// The text frames sent to `sid`.
pub fn ws_texts(actions: &[Action], sid: &str) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::WsSend {
                sid: s,
                frame: Frame::Text(t),
            } if s == sid => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// The answers to `req`: (status, body).
pub fn answers(actions: &[Action], req: ReqId) -> Vec<(u16, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Respond {
                req: r,
                status,
                body,
                ..
            } if *r == req => Some((*status, body.clone())),
            _ => None,
        })
        .collect()
}

/// The actions without the alarm ones.
pub fn without_alarms(actions: &[Action]) -> Vec<Action> {
    actions
        .iter()
        .filter(|a| !matches!(a, Action::SetAlarm { .. }))
        .cloned()
        .collect()
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
