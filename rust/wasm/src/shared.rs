//! The calls `EngineCore` and `SocketCore` answer alike, written once.
//!
//! [`engine_methods!`] writes the JavaScript methods of the engine calls for a binding
//! type with the fields `core` (the bare [`engineio_core::Engine`] or the
//! [`socketio_core::SocketServer`] on top of it, which name these calls alike), `now`
//! (the last time passed) and `out` (an [`crate::out::Out`]). The few differences
//! between the two cores are the macro's arguments: which `Out` method writes their
//! actions, the name of the raw send, how to reach the engine, and what `open` returns.

/// Writes the JavaScript methods shared by the two binding types (see the module).
macro_rules! engine_methods {
    (
        $ty:ident,
        output = $output:ident,
        send = $send:ident,
        engine = |$c:ident| $engine:expr,
        opened = |$r:ident| $opened:expr $(,)?
    ) => {
        #[wasm_bindgen]
        impl $ty {
            /// Routes a request: `{ route, transport | sid }` or `{ error }`.
            #[wasm_bindgen(unchecked_return_type = "Classified")]
            pub fn classify(
                &self,
                method: &str,
                transport: Option<String>,
                eio: Option<String>,
                sid: Option<String>,
                websocket_upgrade: bool,
            ) -> JsValue {
                let info = $crate::request_info(
                    method,
                    transport.as_deref(),
                    eio.as_deref(),
                    sid.as_deref(),
                    websocket_upgrade,
                );
                $crate::classified(self.core.classify(&info))
            }

            /// Opens a session over `transport` ("polling" or "websocket"). `random`
            /// must hold 15 bytes from a CSPRNG (`crypto.getRandomValues`). Over
            /// polling, `req` is answered with the open packet. `eio`: the `EIO`
            /// query parameter of the handshake (anything but "4" opens a protocol
            /// v3 session; `classify` refused it unless `allowEIO3`).
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn open(
                &mut self,
                now: f64,
                transport: &str,
                req: Option<u32>,
                random: &[u8],
                eio: Option<String>,
            ) -> Result<JsValue, JsError> {
                let now = self.at(now);
                let bytes = $crate::random_bytes(random)?;
                let transport = $crate::parse_transport(transport);
                let protocol = engineio_core::Protocol::from_query(eio.as_deref());
                let $r = self
                    .core
                    .open_protocol(now, transport, protocol, req, &bytes);
                Ok(self.out.$output($opened))
            }

            /// Whether reviving `snapshot` at `now` closes it with "ping timeout"
            /// (for a v3 session, `pingAnsweredAt` counts as a ping).
            #[wasm_bindgen(js_name = isExpired)]
            pub fn is_expired(
                &self,
                #[wasm_bindgen(unchecked_param_type = "SessionSnapshot")] snapshot: JsValue,
                now: f64,
            ) -> bool {
                $crate::parse_snapshot(snapshot).is_some_and(|s| {
                    {
                        let $c = &self.core;
                        $engine
                    }
                    .is_expired($crate::now_ms(now), &s)
                })
            }

            /// The protocol v3 WebSocket sessions past their deadline at `now`, whose
            /// pings the runtime may have answered: pass the time of the last one of
            /// each to `pingAnswered` before `tick`.
            #[wasm_bindgen(js_name = pingChecks)]
            pub fn ping_checks(&self, now: f64) -> Vec<String> {
                {
                    let $c = &self.core;
                    $engine
                }
                .ping_checks($crate::now_ms(now))
            }

            /// The runtime answered a ping of the v3 session `sid` at `at` (epoch ms).
            #[wasm_bindgen(js_name = pingAnswered, unchecked_return_type = "CoreOutput")]
            pub fn ping_answered(&mut self, now: f64, sid: &str, at: f64) -> JsValue {
                let now = self.at(now);
                let actions = self.core.ping_answered(now, sid, $crate::now_ms(at));
                self.out.$output(actions)
            }

            /// A long-polling GET of session `sid`, known to the driver as `req`.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn poll(&mut self, now: f64, sid: &str, req: u32) -> JsValue {
                let now = self.at(now);
                let actions = self.core.poll(now, sid, req);
                self.out.$output(actions)
            }

            /// A long-polling POST with its `Content-Type` header and body.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn post(
                &mut self,
                now: f64,
                sid: &str,
                req: u32,
                content_type: Option<String>,
                body: &[u8],
            ) -> JsValue {
                let now = self.at(now);
                let actions = self.core.post(now, sid, req, content_type.as_deref(), body);
                self.out.$output(actions)
            }

            /// Starts an upgrade of `sid` to WebSocket: actions, or `{ error }`.
            #[wasm_bindgen(js_name = beginUpgrade, unchecked_return_type = "Upgrading")]
            pub fn begin_upgrade(&mut self, now: f64, sid: &str) -> JsValue {
                let now = self.at(now);
                match self.core.begin_upgrade(now, sid) {
                    Ok(actions) => self.out.$output(actions),
                    Err(e) => $crate::error_object(e),
                }
            }

            /// A text frame on the WebSocket of `sid`.
            #[wasm_bindgen(js_name = wsText, unchecked_return_type = "CoreOutput")]
            pub fn ws_text(&mut self, now: f64, sid: &str, text: &str) -> JsValue {
                let now = self.at(now);
                let actions = self.core.ws_text(now, sid, text);
                self.out.$output(actions)
            }

            /// A binary frame on the WebSocket of `sid`.
            #[wasm_bindgen(js_name = wsBinary, unchecked_return_type = "CoreOutput")]
            pub fn ws_binary(&mut self, now: f64, sid: &str, bytes: &[u8]) -> JsValue {
                let now = self.at(now);
                let actions = self.core.ws_binary(now, sid, bytes);
                self.out.$output(actions)
            }

            /// The WebSocket of `sid` closed (`error`: it failed).
            #[wasm_bindgen(js_name = wsClosed, unchecked_return_type = "CoreOutput")]
            pub fn ws_closed(&mut self, now: f64, sid: &str, error: bool) -> JsValue {
                let now = self.at(now);
                let actions = self.core.ws_closed(now, sid, error);
                self.out.$output(actions)
            }

            /// Sends a raw Engine.IO text message to `sid`.
            #[wasm_bindgen(js_name = sendText, unchecked_return_type = "CoreOutput")]
            pub fn send_text(&mut self, sid: &str, text: String) -> JsValue {
                let actions = self
                    .core
                    .$send(self.now, sid, engineio_core::Data::Text(text));
                self.out.$output(actions)
            }

            /// Sends a raw Engine.IO binary message to `sid`.
            #[wasm_bindgen(js_name = sendBinary, unchecked_return_type = "CoreOutput")]
            pub fn send_binary(&mut self, sid: &str, bytes: Vec<u8>) -> JsValue {
                let actions = self
                    .core
                    .$send(self.now, sid, engineio_core::Data::Binary(bytes));
                self.out.$output(actions)
            }

            /// Answers held polling GETs that have data waiting.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn flush(&mut self) -> JsValue {
                let actions = self.core.flush(self.now);
                self.out.$output(actions)
            }

            /// Whether `flush` has work to do.
            #[wasm_bindgen(js_name = needsFlush)]
            pub fn needs_flush(&self) -> bool {
                self.core.needs_flush()
            }

            /// Closes `sid` from the server side ("forced close").
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn close(&mut self, sid: &str) -> JsValue {
                let actions = self.core.close(self.now, sid);
                self.out.$output(actions)
            }

            /// The alarm fired: pings, timeouts, next alarm.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn tick(&mut self, now: f64) -> JsValue {
                let now = self.at(now);
                let actions = self.core.tick(now);
                self.out.$output(actions)
            }

            /// Makes sure the alarm fires at or before `at` (epoch ms), for the
            /// driver's own work on the one alarm. Ask again after each `tick`.
            #[wasm_bindgen(js_name = requestAlarm, unchecked_return_type = "CoreOutput")]
            pub fn request_alarm(&mut self, now: f64, at: f64) -> JsValue {
                let now = self.at(now);
                let actions = self.core.request_alarm(now, $crate::now_ms(at));
                self.out.$output(actions)
            }

            /// Tells the core which alarm is set (after the object restarted).
            #[wasm_bindgen(js_name = setKnownAlarm)]
            pub fn set_known_alarm(&mut self, at: Option<f64>) {
                self.core.set_known_alarm(self.now, at.map($crate::now_ms));
            }

            /// Number of open sessions.
            #[wasm_bindgen(js_name = clientsCount)]
            pub fn clients_count(&self) -> u32 {
                {
                    let $c = &self.core;
                    $engine
                }
                .clients_count() as u32
            }

            /// Whether `sid` is an open session.
            #[wasm_bindgen(js_name = hasSession)]
            pub fn has_session(&self, sid: &str) -> bool {
                {
                    let $c = &self.core;
                    $engine
                }
                .has_session(sid)
            }
        }

        impl $ty {
            /// The driver's time as the core counts it, remembered for the calls
            /// that JavaScript makes without one (they pass the core the time of the
            /// last call that had one: the event being handled).
            fn at(&mut self, now: f64) -> u64 {
                self.now = $crate::now_ms(now);
                self.now
            }
        }
    };
}

pub(crate) use engine_methods;
