//! The whole connection: arbitrary bytes in, and what comes out must be
//! well-formed frames, an ERROR (if any) last, and a closed connection, with
//! no panic in any broker thread.
//!
//! The first input byte picks a prefix (none, or a CONNECT for 1.0, 1.1 or
//! 1.2) so the fuzzer spends its time past the handshake too.
#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use stompbox::{Broker, Version};
use stompbox::frame::{Command, Decoded, Decoder, Limits};

const PREFIXES: [&[u8]; 4] = [
    b"",
    b"CONNECT\nhost:h\n\n\0",
    b"CONNECT\naccept-version:1.1\nhost:h\n\n\0",
    b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SUBSCRIBE\nid:0\ndestination:/queue/f\n\n\0",
];

fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        // A panic on any broker thread is a crash the fuzzer must see.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            std::process::abort();
        }));
        Broker::builder()
            .recording(false)
            .limits(Limits {
                max_frame_size: 4096,
                max_headers: 16,
                max_header_line: 256,
            })
            .start()
            .expect("broker starts")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut input = PREFIXES[usize::from(pick) % PREFIXES.len()].to_vec();
    input.extend_from_slice(rest);

    let mut stream = TcpStream::connect(broker().addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The broker may close early (after an ERROR); a failed write is fine.
    let _ = stream.write_all(&input);
    let _ = stream.shutdown(Shutdown::Write);
    let mut output = Vec::new();
    match stream.read_to_end(&mut output) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
            panic!("the broker neither answered nor closed within 10 s")
        }
        Err(_) => return, // reset by the broker after an ERROR: nothing more to check
    }

    // Whatever came out parses as frames, and an ERROR is the last one.
    let mut decoder = Decoder::new(Limits {
        max_frame_size: usize::MAX / 2,
        max_headers: usize::MAX / 2,
        max_header_line: usize::MAX / 2,
    });
    // 1.0 rules take any version's escapes literally, so every frame parses.
    decoder.set_version(Some(Version::V1_0));
    decoder.feed(&output);
    let mut saw_error = false;
    while let Some(item) = decoder.next_item().expect("the broker's output is well-formed") {
        if let Decoded::Frame(frame) = item {
            assert!(!saw_error, "a frame after ERROR: {frame}");
            saw_error = frame.command() == &Command::Error;
        }
    }
    assert_eq!(decoder.buffered(), 0, "the output ends on a frame boundary");
});
