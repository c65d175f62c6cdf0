//! Arbitrary bytes, cut into arbitrary pieces, through the frame decoder with
//! small limits: it must never panic, never return a frame over the limits,
//! and decode the same items whatever the cut points.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stompbox::frame::{Decoded, Decoder, FrameError, Limits};
use stompbox::Version;

const LIMITS: Limits = Limits {
    max_frame_size: 256,
    max_headers: 8,
    max_header_line: 64,
};

/// Decodes `bytes` fed in pieces whose sizes cycle through `cuts`.
fn decode(
    bytes: &[u8],
    cuts: &[u8],
    version: Option<Version>,
) -> (Vec<Decoded>, Option<FrameError>) {
    let mut decoder = Decoder::new(LIMITS);
    decoder.set_version(version);
    let mut items = Vec::new();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let size = cuts
            .get(i % cuts.len().max(1))
            .map_or(rest.len(), |&c| usize::from(c).max(1));
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        i += 1;
        decoder.feed(piece);
        loop {
            match decoder.next_item() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(e) => return (items, Some(e)),
            }
        }
    }
    (items, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = match selector % 4 {
        0 => None,
        1 => Some(Version::V1_0),
        2 => Some(Version::V1_1),
        _ => Some(Version::V1_2),
    };
    let cut_len = usize::from(selector / 4 % 8).min(rest.len());
    let (cuts, bytes) = rest.split_at(cut_len);
    let whole = decode(bytes, &[], version);
    let pieces = decode(bytes, cuts, version);
    assert_eq!(whole, pieces, "cut points changed the result");
    for item in &whole.0 {
        if let Decoded::Frame(frame) = item {
            assert!(frame.body().len() <= LIMITS.max_frame_size);
            assert!(frame.headers().len() <= LIMITS.max_headers);
        }
    }
});
