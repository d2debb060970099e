//! Routing of requests (`classify`) and the HTTP errors. The engine is driven
//! end to end with a fake clock; the reference behaviour is Node's `engine.io`.

use engineio_core::{
    error_response, Action, ContentType, EngineConfig, Method, RequestError, Route, Transport,
};
use test_support::engine::*;

#[test]
fn classify_refuses_unknown_transports() {
    let h = Harness::default_config();
    for transport in [
        None,
        Some(""),
        Some("xhr"),
        Some("POLLING"),
        Some("WebSocket"),
        Some("webtransport"),
        Some("polling "),
    ] {
        assert_eq!(
            h.classify(Method::Get, transport, Some("4"), None, false),
            Err(RequestError::UnknownTransport),
            "transport {transport:?}"
        );
    }
}

#[test]
fn classify_refuses_disabled_transports() {
    let h = Harness::new(EngineConfig {
        polling: false,
        ..EngineConfig::default()
    });
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("4"), None, false),
        Err(RequestError::UnknownTransport)
    );
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), None, true),
        Ok(Route::Handshake(Transport::WebSocket))
    );

    let h = Harness::new(EngineConfig {
        websocket: false,
        ..EngineConfig::default()
    });
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), None, true),
        Err(RequestError::UnknownTransport)
    );
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("4"), None, false),
        Ok(Route::Handshake(Transport::Polling))
    );
}

#[test]
fn classify_refuses_unknown_sids() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    for unknown in ["", "nope", &sid[1..], &format!("{sid}x")] {
        for (method, transport, upgrade) in [
            (Method::Get, "polling", false),
            (Method::Post, "polling", false),
            (Method::Other, "polling", false),
            (Method::Get, "websocket", true),
            (Method::Get, "websocket", false),
        ] {
            assert_eq!(
                h.classify(method, Some(transport), Some("4"), Some(unknown), upgrade),
                Err(RequestError::UnknownSid),
                "sid {unknown:?} {method:?} {transport}"
            );
        }
    }
}

#[test]
fn classify_routes_requests_of_a_polling_session() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    assert_eq!(h.classify_poll(&sid), Ok(Route::Poll(sid.clone())));
    assert_eq!(
        h.classify(Method::Post, Some("polling"), Some("4"), Some(&sid), false),
        Ok(Route::Post(sid.clone()))
    );
    assert_eq!(h.classify_upgrade(&sid), Ok(Route::Upgrade(sid.clone())));
    // Like the reference server, EIO is only looked at during the handshake.
    assert_eq!(
        h.classify(Method::Get, Some("polling"), None, Some(&sid), false),
        Ok(Route::Poll(sid.clone()))
    );
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("3"), Some(&sid), false),
        Ok(Route::Poll(sid.clone()))
    );
    // Neither GET nor POST.
    assert_eq!(
        h.classify(Method::Other, Some("polling"), Some("4"), Some(&sid), false),
        Err(RequestError::BadRequest)
    );
    // A WebSocket request without the upgrade header.
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), Some(&sid), false),
        Err(RequestError::BadRequest)
    );
}

#[test]
fn classify_refuses_polling_on_a_websocket_session() {
    let mut h = Harness::default_config();
    let (upgraded, _, _) = h.open_polling();
    h.upgrade(&upgraded);
    let (ws, _) = h.open_ws();
    for sid in [&upgraded, &ws] {
        assert_eq!(h.classify_poll(sid), Err(RequestError::BadRequest));
        assert_eq!(
            h.classify(Method::Post, Some("polling"), Some("4"), Some(sid), false),
            Err(RequestError::BadRequest)
        );
        // A second WebSocket is accepted and closed at once, as the reference
        // server does.
        assert_eq!(h.classify_upgrade(sid), Ok(Route::CloseAtOnce(sid.clone())));
    }
}

#[test]
fn classify_refuses_handshakes_with_another_method_than_get() {
    let h = Harness::default_config();
    for method in [Method::Post, Method::Other] {
        assert_eq!(
            h.classify(method, Some("polling"), Some("4"), None, false),
            Err(RequestError::BadHandshakeMethod)
        );
        assert_eq!(
            h.classify(method, Some("websocket"), Some("4"), None, true),
            Err(RequestError::BadHandshakeMethod)
        );
    }
}

#[test]
fn classify_refuses_websocket_handshake_without_upgrade_header() {
    let h = Harness::default_config();
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), None, false),
        Err(RequestError::BadRequest)
    );
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), None, true),
        Ok(Route::Handshake(Transport::WebSocket))
    );
    // A polling handshake does not care about the header.
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("4"), None, true),
        Ok(Route::Handshake(Transport::Polling))
    );
}

#[test]
fn classify_refuses_other_protocol_versions() {
    let h = Harness::default_config();
    for eio in [
        None,
        Some("3"),
        Some("abc"),
        Some(""),
        Some("04"),
        Some("5"),
        Some("4 "),
    ] {
        for (transport, upgrade) in [("polling", false), ("websocket", true)] {
            assert_eq!(
                h.classify(Method::Get, Some(transport), eio, None, upgrade),
                Err(RequestError::UnsupportedProtocolVersion),
                "EIO {eio:?} over {transport}"
            );
        }
    }
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("4"), None, false),
        Ok(Route::Handshake(Transport::Polling))
    );
}

#[test]
fn classify_checks_transport_then_sid_then_method_then_version() {
    let mut h = Harness::new(EngineConfig {
        websocket: false,
        ..EngineConfig::default()
    });
    let (sid, _, _) = h.open_polling();
    // Everything wrong: the transport is reported.
    assert_eq!(
        h.classify(
            Method::Post,
            Some("carrier-pigeon"),
            Some("3"),
            Some("nope"),
            false
        ),
        Err(RequestError::UnknownTransport)
    );
    // A disabled transport wins even with a valid sid.
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), Some(&sid), true),
        Err(RequestError::UnknownTransport)
    );
    // Transport fine: the unknown sid is reported before the method and EIO.
    assert_eq!(
        h.classify(
            Method::Other,
            Some("polling"),
            Some("3"),
            Some("nope"),
            false
        ),
        Err(RequestError::UnknownSid)
    );
    // No sid: the method before EIO.
    assert_eq!(
        h.classify(Method::Post, Some("polling"), Some("3"), None, false),
        Err(RequestError::BadHandshakeMethod)
    );
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("3"), None, false),
        Err(RequestError::UnsupportedProtocolVersion)
    );

    let h = Harness::default_config();
    // The method before the upgrade header, the header before EIO.
    assert_eq!(
        h.classify(Method::Post, Some("websocket"), None, None, false),
        Err(RequestError::BadHandshakeMethod)
    );
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), None, None, false),
        Err(RequestError::BadRequest)
    );
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), None, None, true),
        Err(RequestError::UnsupportedProtocolVersion)
    );
}

#[test]
fn classify_refuses_upgrades_when_not_allowed() {
    let mut h = Harness::new(EngineConfig {
        allow_upgrades: false,
        ..EngineConfig::default()
    });
    let (sid, _, _) = h.open_polling();
    assert_eq!(h.classify_upgrade(&sid), Err(RequestError::BadRequest));
    assert_eq!(
        h.server.begin_upgrade(h.now, &sid),
        Err(RequestError::BadRequest)
    );
    // Polling itself goes on.
    assert_eq!(h.classify_poll(&sid), Ok(Route::Poll(sid.clone())));
}

#[test]
fn classify_closes_a_second_websocket_while_an_upgrade_is_in_progress() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.server.begin_upgrade(h.now, &sid).unwrap();
    let close = Ok(Route::CloseAtOnce(sid.clone()));
    assert_eq!(h.classify_upgrade(&sid), close);
    h.ws_text(&sid, "2probe");
    assert_eq!(h.classify_upgrade(&sid), close);
    // Polling requests are still routed during the upgrade.
    assert_eq!(h.classify_poll(&sid), Ok(Route::Poll(sid.clone())));
}

#[test]
fn error_responses_carry_the_reference_bodies() {
    let cases = [
        (
            RequestError::UnknownTransport,
            400,
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            RequestError::UnknownSid,
            400,
            r#"{"code":1,"message":"Session ID unknown"}"#,
        ),
        (
            RequestError::BadHandshakeMethod,
            400,
            r#"{"code":2,"message":"Bad handshake method"}"#,
        ),
        (
            RequestError::BadRequest,
            400,
            r#"{"code":3,"message":"Bad request"}"#,
        ),
        (
            RequestError::Forbidden,
            403,
            r#"{"code":4,"message":"Forbidden"}"#,
        ),
        (
            RequestError::UnsupportedProtocolVersion,
            400,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
    ];
    for (err, status, body) in cases {
        assert_eq!(
            error_response(42, err),
            Action::Respond {
                req: 42,
                status,
                content_type: ContentType::Json,
                body: body.to_owned(),
            }
        );
    }
}
