//! Micro-benchmarks of the Socket.IO core: the packet codec (CONNECT, EVENT small,
//! 1 KB and binary, ACK) and broadcast resolution to 1,000 sockets in rooms.
//!
//! `cargo bench -p socketio-core --bench core` (`npm run bench` runs it with a short
//! measurement time and puts the results in docs/benchmarks.md).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use engineio_core::{Engine, EngineConfig, Transport, SID_RANDOM_BYTES};
use socketio_core::{
    encode_frame, Action, Decoder, Emit, Packet, PacketKind, SocketConfig, SocketServer,
};

const SMALL: &str = r#"["echo-ack",{"seq":1,"text":"hello, world"}]"#;
const BINARY: &str = r#"["picture",{"type":"image/png","bytes":{"_placeholder":true,"num":0}}]"#;

fn kilobyte_event() -> String {
    format!(r#"["say",{{"text":"{}"}}]"#, "x".repeat(1000))
}

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    let kb = kilobyte_event();
    let connect_answer = r#"{"sid":"AAECAwQFBgcICQoLDA0O"}"#;

    g.bench_function("encode CONNECT", |b| {
        b.iter(|| {
            encode_frame(
                PacketKind::Connect,
                "/",
                None,
                0,
                Some(black_box(connect_answer)),
            )
        })
    });
    g.bench_function("decode CONNECT", |b| {
        b.iter(|| Packet::decode(black_box(r#"0/admin,{"token":"abc"}"#)).unwrap())
    });

    g.bench_function("encode EVENT small", |b| {
        b.iter(|| encode_frame(PacketKind::Event, "/", Some(7), 0, Some(black_box(SMALL))))
    });
    let small_frame = format!("27{SMALL}");
    g.bench_function("decode EVENT small", |b| {
        b.iter(|| Packet::decode(black_box(&small_frame)).unwrap())
    });

    g.bench_function("encode EVENT 1 KB", |b| {
        b.iter(|| encode_frame(PacketKind::Event, "/", None, 0, Some(black_box(&kb))))
    });
    let kb_frame = format!("2{kb}");
    g.bench_function("decode EVENT 1 KB", |b| {
        b.iter(|| Packet::decode(black_box(&kb_frame)).unwrap())
    });

    let attachment = vec![0xa5u8; 1024];
    g.bench_function("encode BINARY_EVENT (1 KB attachment)", |b| {
        b.iter(|| {
            encode_frame(
                PacketKind::BinaryEvent,
                "/",
                None,
                1,
                Some(black_box(BINARY)),
            )
        })
    });
    let binary_frame = format!("51-{BINARY}");
    g.bench_function("decode BINARY_EVENT (1 KB attachment)", |b| {
        b.iter(|| {
            let mut d = Decoder::new();
            assert!(d.add_text(black_box(&binary_frame)).unwrap().is_none());
            d.add_binary(black_box(&attachment)).unwrap().unwrap()
        })
    });

    g.bench_function("encode ACK", |b| {
        b.iter(|| {
            encode_frame(
                PacketKind::Ack,
                "/",
                Some(7),
                0,
                Some(black_box(r#"["ok"]"#)),
            )
        })
    });
    g.bench_function("decode ACK", |b| {
        b.iter(|| Packet::decode(black_box(r#"37["ok",{"n":1}]"#)).unwrap())
    });
    g.finish();
}

fn random(n: u64) -> [u8; SID_RANDOM_BYTES] {
    let mut r = [0u8; SID_RANDOM_BYTES];
    r[..8].copy_from_slice(&n.to_le_bytes());
    r
}

/// A server with `n` WebSocket sockets in the main namespace; socket `i` is in
/// room `r<i % rooms>` and, when `i` is even, in room `even`.
fn server_with(n: u64, rooms: u64) -> SocketServer {
    let mut s = SocketServer::new(
        Engine::new(EngineConfig::default()),
        SocketConfig::default(),
    );
    for i in 0..n {
        let opened = s.open(1_000, Transport::WebSocket, None, &random(2 * i));
        let sid = opened
            .iter()
            .find_map(|a| match a {
                Action::Engine(engineio_core::Action::Opened { sid, .. }) => Some(sid.clone()),
                _ => None,
            })
            .expect("an Opened action");
        s.ws_text(1_000, &sid, "40");
        let (id, _) = s
            .accept(1_000, &sid, "/", &random(2 * i + 1))
            .expect("accepted");
        let mut joined = vec![format!("r{}", i % rooms)];
        if i % 2 == 0 {
            joined.push("even".to_owned());
        }
        let _ = s.join(1_000, &id, &joined);
    }
    s
}

fn broadcast(c: &mut Criterion) {
    let mut g = c.benchmark_group("broadcast to 1,000 sockets");
    g.throughput(Throughput::Elements(1_000));
    let all_in_one = vec!["r0".to_owned()];
    let mut one_room = server_with(1_000, 1);
    g.bench_function("one room of 1,000", |b| {
        b.iter(|| one_room.broadcast(1_000, "/", black_box(&all_in_one), &[], Emit::new(SMALL)))
    });
    let mut everyone = server_with(1_000, 1);
    g.bench_function("whole namespace (no room)", |b| {
        b.iter(|| everyone.broadcast(1_000, "/", &[], &[], Emit::new(black_box(SMALL))))
    });
    let mut ten_rooms = server_with(1_000, 10);
    let rooms: Vec<String> = (0..10).map(|r| format!("r{r}")).collect();
    let except = vec!["even".to_owned()];
    g.throughput(Throughput::Elements(500));
    g.bench_function("10 rooms of 100, except 500 (union, dedup)", |b| {
        b.iter(|| ten_rooms.broadcast(1_000, "/", black_box(&rooms), &except, Emit::new(SMALL)))
    });
    g.finish();

    let mut g = c.benchmark_group("setup");
    g.sample_size(10);
    g.bench_function("open, connect and join 1,000 sockets", |b| {
        b.iter_batched(|| (), |()| server_with(1_000, 10), BatchSize::PerIteration)
    });
    g.finish();
}

criterion_group!(benches, codec, broadcast);
criterion_main!(benches);
