//! Rules a broker may impose on sessions beyond the protocol: destination
//! name syntax, transaction limits, selectors. Off by default; the RocketMQ
//! profile turns them all on.

/// Which destination names are accepted.
///
/// # Examples
/// ```
/// use stompbox::destination::DestinationSyntax;
/// assert!(DestinationSyntax::Any.check("/queue/a.b").is_ok());
/// assert!(DestinationSyntax::Words.check("/orders/eu_1").is_ok());
/// let err = DestinationSyntax::Words.check("/orders/eu.1").unwrap_err();
/// assert!(err.contains("only letters, digits, '-' and '_'"), "{err}");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestinationSyntax {
    /// Any non-empty name.
    #[default]
    Any,
    /// `/<level>[/<level>...]`, each level made only of ASCII letters,
    /// digits, `-` and `_` (the RocketMQ gateway's rule).
    Words,
}

impl DestinationSyntax {
    /// `Err(the ERROR message)` when `destination` breaks the rule.
    ///
    /// # Errors
    /// The message names the destination and the rule.
    ///
    /// # Examples
    /// See [`DestinationSyntax`].
    pub fn check(self, destination: &str) -> Result<(), String> {
        match self {
            DestinationSyntax::Any => Ok(()),
            DestinationSyntax::Words => {
                let well_formed = destination
                    .strip_prefix('/')
                    .is_some_and(|rest| rest.split('/').all(is_word));
                if well_formed {
                    Ok(())
                } else {
                    Err(format!(
                        "invalid destination '{destination}': it must be /<topic>[/<more>], each level made of only letters, digits, '-' and '_'"
                    ))
                }
            }
        }
    }
}

fn is_word(level: &str) -> bool {
    !level.is_empty()
        && level
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The session rules of one broker.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionRules {
    pub(crate) destination_syntax: DestinationSyntax,
    /// Most transactions one connection may have open at once.
    pub(crate) max_open_transactions: Option<usize>,
    /// Most SEND frames one transaction may hold.
    pub(crate) max_messages_per_transaction: Option<usize>,
    /// Refuse SUBSCRIBE frames with a `selector` header.
    pub(crate) refuse_selectors: bool,
}

impl Default for SessionRules {
    fn default() -> Self {
        SessionRules {
            destination_syntax: DestinationSyntax::default(),
            // Even an empty transaction costs memory: a bound, generous.
            max_open_transactions: Some(1_000),
            max_messages_per_transaction: None,
            refuse_selectors: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_syntax_rejects_what_the_gateway_rejects() {
        let ok = ["/t", "/t/t1", "/xx/xxx", "/A-b_9/c"];
        let bad = ["t/t1", "/", "/t/", "//t", "/t t", "/t.1", "/t/ü", "/t/*"];
        for d in ok {
            assert!(DestinationSyntax::Words.check(d).is_ok(), "{d}");
        }
        for d in bad {
            assert!(DestinationSyntax::Words.check(d).is_err(), "{d}");
        }
    }
}
