//! What the relayer, `bridgectl` and the holder CLI share, and nothing heavier: the domain's vocabulary
//! ([`domain`]: chains, directions, transfer records and states, transaction kinds), the
//! validated configuration ([`config`], with secrets by reference) and the validator keystore
//! ([`keys`]), token amounts in their decimals ([`amount`]), whether a chain charges gas
//! ([`gas`]), contract reverts by name
//! ([`revert`]) and PKCS#11 tokens ([`hsm`]: the validator key's and the sealed secrets' master
//! key's device, driven through the vendor's module loaded at run time). No runtime, database
//! or HTTP server is linked in here.

pub mod amount;
pub mod config;
pub mod domain;
pub mod gas;
pub mod hsm;
pub mod keys;
pub mod revert;

/// An error and its causes on one line, each said once: a message whose text an earlier one
/// already contains (a wrapper that prints its source, then the source itself) is left out.
/// `relayer` and `bridgectl` print every failure this way.
pub fn one_line<I, S>(messages: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut line = String::new();
    for message in messages {
        let message = message.as_ref().trim();
        if message.is_empty() || line.contains(message) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(message);
    }
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_already_said_is_not_said_again() {
        let chain = [
            "keystore password: environment variable PW is not set",
            "environment variable PW is not set",
        ];
        assert_eq!(
            super::one_line(chain),
            "keystore password: environment variable PW is not set"
        );
        assert_eq!(
            super::one_line(["cannot reach the node", "connection refused", ""]),
            "cannot reach the node: connection refused"
        );
    }
}
