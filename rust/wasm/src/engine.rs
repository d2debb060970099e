//! `EngineCore`: a bare Engine.IO server.

use engineio_core::Engine;
use wasm_bindgen::prelude::*;

use crate::out::Out;
use crate::shared::engine_methods;
use crate::{parse_options, parse_snapshot};

/// The Engine.IO server of one Durable Object.
#[wasm_bindgen]
pub struct EngineCore {
    core: Engine,
    /// The last time the driver passed, for the calls it passes none to.
    now: u64,
    out: Out,
}

#[wasm_bindgen]
impl EngineCore {
    /// Builds the engine from the server options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<EngineCore, JsError> {
        let (config, _) = parse_options(options)?;
        Ok(EngineCore {
            core: Engine::new(config),
            now: 0,
            out: Out::default(),
        })
    }

    /// Revives a hibernated WebSocket session from its snapshot (`{ sid,
    /// nextPingAt, pongDeadline }`); returns the actions (a close if it expired
    /// meanwhile). `rows` is ignored (the Socket.IO core reads its stored sockets
    /// there).
    #[wasm_bindgen(js_name = reviveSession, unchecked_return_type = "CoreOutput")]
    pub fn revive_session(
        &mut self,
        now: f64,
        #[wasm_bindgen(unchecked_param_type = "SessionSnapshot")] snapshot: JsValue,
        #[wasm_bindgen(unchecked_param_type = "StoredSocketRow[] | undefined")] _rows: JsValue,
    ) -> JsValue {
        let now = self.at(now);
        let mut actions = Vec::new();
        if let Some(snap) = parse_snapshot(snapshot) {
            self.core.restore(now, snap, &mut actions);
        }
        self.out.engine(actions)
    }
}

engine_methods!(
    EngineCore,
    output = engine,
    send = send,
    engine = |core| core,
    opened = |opened| opened.1,
);
