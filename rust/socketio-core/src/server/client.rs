//! Engine connections ("clients"): the engine's entry points, run through the
//! socket layer, and what the packets of a connection become.

use std::collections::HashMap;

use engineio_core::{
    Action as EngineAction, Data, Protocol, ReqId, RequestError, RequestInfo, Route, Transport,
    SID_RANDOM_BYTES,
};

use super::{v3, wrap, Action, Client, DisconnectReason, SocketServer};
use crate::decoder::Complete;
use crate::packet::PacketKind;

impl SocketServer {
    /// See [`Engine::classify`](engineio_core::Engine::classify).
    pub fn classify(&self, req: &RequestInfo<'_>) -> Result<Route, RequestError> {
        self.engine.classify(req)
    }

    /// See [`Engine::open`](engineio_core::Engine::open).
    pub fn open(
        &mut self,
        now: u64,
        transport: Transport,
        req: Option<ReqId>,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> Vec<Action> {
        self.open_protocol(now, transport, Protocol::V4, req, random)
    }

    /// See [`Engine::open_protocol`](engineio_core::Engine::open_protocol). A
    /// protocol v3 connection asks at once to join `/` (the last action, an
    /// [`Action::Connect`] without auth), as Socket.IO v2 clients expect.
    pub fn open_protocol(
        &mut self,
        now: u64,
        transport: Transport,
        protocol: Protocol,
        req: Option<ReqId>,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> Vec<Action> {
        let (_, actions) = self
            .engine
            .open_protocol(now, transport, protocol, req, random);
        self.process(now, actions)
    }

    /// See [`Engine::poll`](engineio_core::Engine::poll).
    pub fn poll(&mut self, now: u64, sid: &str, req: ReqId) -> Vec<Action> {
        let a = self.engine.poll(now, sid, req);
        self.process(now, a)
    }

    /// See [`Engine::post`](engineio_core::Engine::post).
    pub fn post(
        &mut self,
        now: u64,
        sid: &str,
        req: ReqId,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<Action> {
        let a = self.engine.post(now, sid, req, content_type, body);
        self.process(now, a)
    }

    /// See [`Engine::begin_upgrade`](engineio_core::Engine::begin_upgrade).
    pub fn begin_upgrade(&mut self, now: u64, sid: &str) -> Result<Vec<Action>, RequestError> {
        let a = self.engine.begin_upgrade(now, sid)?;
        Ok(self.process(now, a))
    }

    /// See [`Engine::ws_text`](engineio_core::Engine::ws_text).
    pub fn ws_text(&mut self, now: u64, sid: &str, text: &str) -> Vec<Action> {
        let a = self.engine.ws_text(now, sid, text);
        self.process(now, a)
    }

    /// See [`Engine::ws_binary`](engineio_core::Engine::ws_binary).
    pub fn ws_binary(&mut self, now: u64, sid: &str, bytes: &[u8]) -> Vec<Action> {
        let a = self.engine.ws_binary(now, sid, bytes);
        self.process(now, a)
    }

    /// See [`Engine::ws_closed`](engineio_core::Engine::ws_closed).
    pub fn ws_closed(&mut self, now: u64, sid: &str, error: bool) -> Vec<Action> {
        let a = self.engine.ws_closed(now, sid, error);
        self.process(now, a)
    }

    /// Sends a raw Engine.IO message, outside of any namespace.
    pub fn send_raw(&mut self, now: u64, sid: &str, data: Data) -> Vec<Action> {
        wrap(self.engine.send(now, sid, data))
    }

    /// See [`Engine::ping_answered`](engineio_core::Engine::ping_answered).
    pub fn ping_answered(&mut self, now: u64, sid: &str, at: u64) -> Vec<Action> {
        let a = self.engine.ping_answered(now, sid, at);
        self.process(now, a)
    }

    /// See [`Engine::flush`](engineio_core::Engine::flush).
    pub fn flush(&mut self, now: u64) -> Vec<Action> {
        wrap(self.engine.flush(now))
    }

    /// See [`Engine::needs_flush`](engineio_core::Engine::needs_flush).
    pub fn needs_flush(&self) -> bool {
        self.engine.needs_flush()
    }

    /// Closes engine session `sid` ("forced close" for its sockets).
    pub fn close(&mut self, now: u64, sid: &str) -> Vec<Action> {
        let a = self.engine.close(now, sid);
        self.process(now, a)
    }

    /// The alarm fired: engine timers, then the connect timeout of connections
    /// that joined no namespace.
    pub fn tick(&mut self, now: u64) -> Vec<Action> {
        let a = self.engine.tick(now);
        let mut out = self.process(now, a);
        let expired: Vec<String> = self
            .clients
            .iter()
            .filter(|(_, c)| c.nsps.is_empty() && c.connect_deadline.is_some_and(|d| d <= now))
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in expired {
            let a = self.engine.close(now, &sid);
            out.extend(self.process(now, a));
        }
        if let Some(next) = self
            .clients
            .values()
            .filter_map(|c| c.connect_deadline)
            .min()
        {
            let mut a = Vec::new();
            self.engine.schedule(now, next, &mut a);
            out.extend(wrap(a));
        }
        out
    }

    /// See [`Engine::set_known_alarm`](engineio_core::Engine::set_known_alarm).
    pub fn set_known_alarm(&mut self, now: u64, at: Option<u64>) {
        self.engine.set_known_alarm(now, at);
    }

    /// Makes sure the alarm fires at or before `at`, for work of the driver's own
    /// that runs on the one alarm (see
    /// [`Engine::request_alarm`](engineio_core::Engine::request_alarm)).
    pub fn request_alarm(&mut self, now: u64, at: u64) -> Vec<Action> {
        let a = self.engine.request_alarm(now, at);
        self.process(now, a)
    }

    /// Runs engine actions through the socket layer.
    pub(super) fn process(&mut self, now: u64, engine_actions: Vec<EngineAction>) -> Vec<Action> {
        let mut out = Vec::with_capacity(engine_actions.len());
        let mut connect_deadline = None;
        let mut implicit_connect = None;
        for a in engine_actions {
            match a {
                EngineAction::Opened { ref sid, transport } => {
                    let deadline = now.saturating_add(self.config.connect_timeout);
                    let v3 = self.engine.protocol_of(sid) == Some(Protocol::V3);
                    if v3 {
                        implicit_connect = Some(sid.clone());
                    }
                    self.clients.insert(
                        sid.clone(),
                        Client {
                            decoder: self.config.parser.decoder(),
                            nsps: HashMap::new(),
                            connect_deadline: Some(deadline),
                            broken: false,
                            // A polling session cannot outlive the object, but with
                            // recovery on its sockets are stored anyway, so that
                            // they can be recovered after a restart.
                            persisted: transport == Transport::WebSocket
                                || self.config.recovery.is_some(),
                            v3,
                        },
                    );
                    out.push(Action::Engine(a));
                    connect_deadline = Some(deadline);
                }
                EngineAction::Message { sid, data } => self.on_message(now, &sid, data, &mut out),
                EngineAction::Persist(ref snap) => {
                    let sid = snap.sid.clone();
                    out.push(Action::Engine(a));
                    self.store_connection(&sid, &mut out);
                }
                EngineAction::Closed { ref sid, reason } => {
                    self.drop_client(now, sid, DisconnectReason::Engine(reason), &mut out);
                    out.push(Action::Engine(a));
                }
                other => out.push(Action::Engine(other)),
            }
        }
        if let Some(deadline) = connect_deadline {
            // After the engine's own `SetAlarm`s of the batch: the driver sets
            // them in order, so the earliest must come last.
            let mut alarm = Vec::new();
            self.engine.schedule(now, deadline, &mut alarm);
            out.extend(wrap(alarm));
        }
        if let Some(sid) = implicit_connect {
            // Last, after the open packet and the alarms: the driver answers it
            // while it carries out the actions, and what it sends must follow them.
            out.push(Action::Connect {
                sid,
                nsp: "/".to_owned(),
                auth: None,
            });
        }
        out
    }

    fn on_message(&mut self, now: u64, sid: &str, data: Data, out: &mut Vec<Action>) {
        let Some(client) = self.clients.get_mut(sid) else {
            return;
        };
        if client.broken {
            return;
        }
        let decoded = match &data {
            Data::Text(t) => client.decoder.add_text(t),
            Data::Binary(b) => client.decoder.add_binary(b),
        };
        match decoded {
            Ok(None) => {}
            Ok(Some(complete)) => self.on_packet(now, sid, complete, out),
            Err(e) => {
                // A protocol violation ends the whole connection, after the
                // sockets' `error` listeners had their say.
                client.broken = true;
                if client.nsps.is_empty() {
                    let a = self.engine.close(now, sid);
                    out.extend(self.process(now, a));
                    return;
                }
                for socket_id in client.nsps.values() {
                    out.push(Action::Error {
                        socket_id: socket_id.clone(),
                        message: e.reference_message().to_owned(),
                    });
                }
                out.push(Action::CloseConnection {
                    sid: sid.to_owned(),
                });
            }
        }
    }

    fn on_packet(&mut self, now: u64, sid: &str, complete: Complete, out: &mut Vec<Action>) {
        let Complete {
            mut packet,
            binaries,
        } = complete;
        if self.is_v3(sid) {
            // The namespace of a v3 client's packet may carry a query: the auth of
            // its CONNECT.
            let (nsp, query) = v3::split_namespace(&packet.nsp);
            packet.nsp = nsp;
            if packet.kind == PacketKind::Connect {
                packet.data = Some(query.unwrap_or_else(|| "{}".to_owned()));
            }
        }
        let socket_id = self
            .clients
            .get(sid)
            .and_then(|c| c.nsps.get(&packet.nsp))
            .cloned();
        match (packet.kind, socket_id) {
            (PacketKind::Connect, None) => out.push(Action::Connect {
                sid: sid.to_owned(),
                nsp: packet.nsp,
                auth: packet.data,
            }),
            (PacketKind::Event | PacketKind::BinaryEvent, Some(socket_id)) => {
                out.push(Action::Event {
                    socket_id,
                    data: packet.data.unwrap_or_default(),
                    ack_id: packet.id,
                    binaries,
                })
            }
            (PacketKind::Ack | PacketKind::BinaryAck, Some(socket_id)) => {
                if let Some(id) = packet.id {
                    out.push(Action::Ack {
                        socket_id,
                        id,
                        data: packet.data.unwrap_or_default(),
                        binaries,
                    });
                }
            }
            (PacketKind::Disconnect, Some(socket_id)) => {
                self.disconnected(
                    now,
                    &socket_id,
                    DisconnectReason::ClientNamespaceDisconnect,
                    out,
                );
            }
            _ => {
                // A second CONNECT, a CONNECT_ERROR from the client, or a
                // packet for a namespace the connection never joined.
                self.drop_client(now, sid, DisconnectReason::ForcedServerClose, out);
                let a = self.engine.close(now, sid);
                out.extend(self.process(now, a));
            }
        }
    }

    fn drop_client(
        &mut self,
        now: u64,
        sid: &str,
        reason: DisconnectReason,
        out: &mut Vec<Action>,
    ) {
        let ids: Vec<String> = self
            .clients
            .get(sid)
            .map(|c| c.nsps.values().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.disconnected(now, &id, reason, out);
        }
        if reason != DisconnectReason::ForcedServerClose {
            self.clients.remove(sid);
        }
    }
}
