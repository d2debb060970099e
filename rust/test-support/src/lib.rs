//! # test-support
//!
//! What the integration tests of `engineio-core` and `socketio-core` share:
//! a core driven like the Durable Object shim drives it, with a fake clock.
//!
//! - [`Harness`]: the core, the fake clock, request ids and random bytes;
//!   [`engine`] and [`socket`] add what drives an [`Engine`] or a
//!   [`SocketServer`] (with the client side of the wire for the latter) and
//!   the actions a test expects of each;
//! - [`actions`]: accessors that read either layer's actions (through
//!   [`AsEngineAction`]): alarms, closes, answers to requests, frames; and
//!   small helpers for what tests compare.
//!
//! A test file takes all it needs with `use test_support::engine::*;` or
//! `use test_support::socket::*;`.
//!
//! [`Engine`]: engineio_core::Engine
//! [`SocketServer`]: socketio_core::SocketServer

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod actions;
pub mod engine;
pub mod socket;

use engineio_core::{ReqId, SID_RANDOM_BYTES};

pub use actions::AsEngineAction;

/// A core driven by a fake clock, with the request ids and the random bytes
/// a driver hands it.
pub struct Harness<S> {
    /// The core under test: an `Engine` or a `SocketServer`.
    pub server: S,
    /// The fake clock, in milliseconds; it starts at 1000.
    pub now: u64,
    next_req: ReqId,
    seed: u64,
}

impl<S> Harness<S> {
    /// Drives `server` from time 1000.
    pub fn driving(server: S) -> Self {
        Harness {
            server,
            now: 1_000,
            next_req: 1,
            seed: 0,
        }
    }

    /// Starts the random bytes elsewhere, so that ids do not collide with
    /// those of another harness.
    pub fn seeded(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
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

    /// Random bytes, different on every call.
    pub fn random(&mut self) -> [u8; SID_RANDOM_BYTES] {
        self.seed += 1;
        let mut r = [0u8; SID_RANDOM_BYTES];
        r[..8].copy_from_slice(&self.seed.to_le_bytes());
        for (i, b) in r[8..].iter_mut().enumerate() {
            *b = 0xa5 ^ (i as u8).wrapping_mul(37);
        }
        r
    }
}
