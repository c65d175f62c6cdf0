//! Sessions with no socket: up to three connections to one broker state,
//! fed arbitrary bytes in arbitrary interleavings (see
//! `stompbox::__fuzz::sessions` for the input's layout). Every frame the
//! broker would write must be well-formed, nothing may follow an ERROR, and
//! once all have closed no connection, subscription or transaction is left.
//! Thousands of times faster per input than the `connection` target, which
//! goes through real sockets and threads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    stompbox::__fuzz::sessions(data);
});
