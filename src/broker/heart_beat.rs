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
pub(crate) fn negotiate(offer: Option<(u32, u32)>, client: (u32, u32)) -> Agreement {
    let (cx, cy) = client;
    let (sx, sy) = offer.unwrap_or((cy, cx));
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
        let agreed = negotiate(offer, client);
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
