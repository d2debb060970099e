//! Engine options, with the Node `engine.io` defaults.

/// Options of an Engine.IO server. Times are in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Interval between two server pings (`pingInterval`, default 25000).
    pub ping_interval: u64,
    /// Time the client has to answer a ping (`pingTimeout`, default 20000).
    pub ping_timeout: u64,
    /// Largest accepted message or POST body in bytes (`maxHttpBufferSize`,
    /// default 1e6); announced to clients as `maxPayload`.
    pub max_payload: usize,
    /// Whether HTTP long-polling is enabled (`transports` contains `polling`).
    pub polling: bool,
    /// Whether WebSocket is enabled (`transports` contains `websocket`).
    pub websocket: bool,
    /// Whether a polling session may upgrade to WebSocket (`allowUpgrades`).
    pub allow_upgrades: bool,
    /// Time a started upgrade may take before the probe is dropped
    /// (`upgradeTimeout`, default 10000).
    pub upgrade_timeout: u64,
    /// Text put in front of every session id this server makes (default empty).
    /// A sharded server marks its sessions with the shard that owns them, so that
    /// a router finds the owner from the id alone.
    pub sid_prefix: String,
    /// Whether clients of protocol v3 (Socket.IO v2) may connect (`allowEIO3`,
    /// default false): a handshake whose `EIO` is not `4` opens a v3 session.
    pub allow_eio3: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: 25_000,
            ping_timeout: 20_000,
            max_payload: 1_000_000,
            polling: true,
            websocket: true,
            allow_upgrades: true,
            upgrade_timeout: 10_000,
            sid_prefix: String::new(),
            allow_eio3: false,
        }
    }
}

impl EngineConfig {
    /// How early a ping may be sent so that sessions due at nearly the same
    /// time share one alarm: a quarter of the interval, and never more than
    /// half the timeout.
    pub fn ping_slack(&self) -> u64 {
        (self.ping_interval / 4).min(self.ping_timeout / 2)
    }
}
