//! A transport with no peer, for driving sessions without a socket: reads
//! find the stream closed, writes go nowhere.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::Transport;

/// No bytes in, any bytes out.
#[derive(Debug, Default)]
pub(crate) struct Detached;

impl Transport for Detached {
    fn read(&self, _buf: &mut [u8], _timeout: Option<Duration>) -> io::Result<usize> {
        Ok(0)
    }

    fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        Ok(bytes.len())
    }

    fn close_write(&self) {}

    fn close(&self) {}

    fn abort(&self) {}

    fn peer(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    }

    fn kind(&self) -> &'static str {
        "detached"
    }

    fn write_raw(&self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}
