//! Heart-beat negotiation (STOMP 1.1 section "Heart-beating").
//!
//! The client's CONNECT says `cx,cy`: it can send every `cx` ms and wants to
//! receive every `cy` ms (0 = never). The broker's offer `sx,sy` means the
//! same from its side. Each direction beats at the larger of the two values,
//! or not at all if either side said 0. With no configured offer the broker
//! agrees to whatever the client asks for, as RabbitMQ does.

use std::time::Duration;

/// What both sides agreed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Agreement {
    /// The broker sends a heart-beat after this much silence.
    pub(crate) send_every: Option<Duration>,
    /// The client promised to send something this often.
    pub(crate) expect_every: Option<Duration>,
    /// The CONNECTED frame's `heart-beat` header.
    pub(crate) header: (u32, u32),
}

/// Reads a `heart-beat` header: two comma-separated millisecond counts.
pub(crate) fn parse(text: Option<&str>) -> Option<(u32, u32)> {
    let Some(text) = text else {
        return Some((0, 0));
    };
    let (send, receive) = text.split_once(',')?;
    Some((send.trim().parse().ok()?, receive.trim().parse().ok()?))
}

/// Agrees the two intervals from the broker's `offer` and the client's ask.
/// How often the client must send heart-beats, as the CONNECTED frame's
/// `heart-beat` header (`sx,sy`) and the client's own offer `send_ms` decide:
/// `None` when either side said 0. The client side of [`negotiate`].
pub(crate) fn client_send_interval(connected: Option<&str>, send_ms: u32) -> Option<Duration> {
    let (_, server_wants) = parse(connected).unwrap_or((0, 0));
    (send_ms > 0 && server_wants > 0)
        .then(|| Duration::from_millis(u64::from(send_ms.max(server_wants))))
}

/// What the broker agrees to: its `offer` (or, with none, what the client
/// asks), each non-zero value raised to at least `floor_ms`, so no client can
/// make the broker beat, or expect beats, more often than that.
pub(crate) fn negotiate(offer: Option<(u32, u32)>, client: (u32, u32), floor_ms: u32) -> Agreement {
    let (cx, cy) = client;
    let (sx, sy) = offer.unwrap_or((cy, cx));
    let floored = |v: u32| if v == 0 { 0 } else { v.max(floor_ms) };
    let (sx, sy) = (floored(sx), floored(sy));
    let interval =
        |a: u32, b: u32| (a > 0 && b > 0).then(|| Duration::from_millis(u64::from(a.max(b))));
    Agreement {
        send_every: interval(sx, cy),
        expect_every: interval(cx, sy),
        header: (sx, sy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const MS: fn(u64) -> Option<Duration> = |ms| Some(Duration::from_millis(ms));

    #[rstest]
    #[case::echo_what_the_client_asks(None, (100, 200), MS(200), MS(100), (200, 100))]
    #[case::echo_nothing(None, (0, 0), None, None, (0, 0))]
    #[case::larger_value_wins(Some((500, 50)), (100, 200), MS(500), MS(100), (500, 50))]
    #[case::zero_disables(Some((0, 1000)), (100, 200), None, MS(1000), (0, 1000))]
    fn negotiates(
        #[case] offer: Option<(u32, u32)>,
        #[case] client: (u32, u32),
        #[case] send: Option<Duration>,
        #[case] expect: Option<Duration>,
        #[case] header: (u32, u32),
    ) {
        let agreed = negotiate(offer, client, 0);
        assert_eq!(
            (agreed.send_every, agreed.expect_every, agreed.header),
            (send, expect, header)
        );
    }

    #[rstest]
    #[case::both_willing(Some("0,500"), 100, MS(500))]
    #[case::client_offers_nothing(Some("0,500"), 0, None)]
    #[case::server_wants_nothing(Some("500,0"), 100, None)]
    #[case::no_header(None, 100, None)]
    fn client_side_agrees_with_the_broker(
        #[case] connected: Option<&str>,
        #[case] send_ms: u32,
        #[case] want: Option<Duration>,
    ) {
        assert_eq!(client_send_interval(connected, send_ms), want);
        if let Some((sx, sy)) = connected.and_then(|c| parse(Some(c))) {
            // The broker expects what the client was told to send.
            let broker = negotiate(Some((sx, sy)), (send_ms, 0), 0);
            assert_eq!(broker.expect_every, want);
        }
    }

    #[rstest]
    #[case::a_1_ms_ask_is_raised(None, (1, 1), MS(100), MS(100), (100, 100))]
    #[case::zero_stays_zero(None, (0, 1), MS(100), None, (100, 0))]
    #[case::above_the_floor_untouched(Some((250, 0)), (300, 300), MS(300), None, (250, 0))]
    fn the_floor_bounds_every_non_zero_interval(
        #[case] offer: Option<(u32, u32)>,
        #[case] client: (u32, u32),
        #[case] send: Option<Duration>,
        #[case] expect: Option<Duration>,
        #[case] header: (u32, u32),
    ) {
        let agreed = negotiate(offer, client, 100);
        assert_eq!(
            (agreed.send_every, agreed.expect_every, agreed.header),
            (send, expect, header)
        );
    }

    #[rstest]
    #[case(None, Some((0, 0)))]
    #[case(Some("10,20"), Some((10, 20)))]
    #[case(Some("10, 20"), Some((10, 20)))]
    #[case(Some("10"), None)]
    #[case(Some("-1,0"), None)]
    #[case(Some("a,b"), None)]
    fn parses(#[case] text: Option<&str>, #[case] want: Option<(u32, u32)>) {
        assert_eq!(parse(text), want);
    }
}
