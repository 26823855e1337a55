//! One command's connections: the main chain once, and each side chain (route) it names,
//! opened on demand; and which routes `--from`/`--to` name.

use alloy::{primitives::Address, providers::DynProvider, signers::local::PrivateKeySigner};
use eyre::bail;

use crate::network::{self, Endpoints, Net, Network};

/// The main chain's name in `--from`/`--to`.
pub(crate) const MAIN: &str = "main";

pub(crate) fn is_main(name: &str) -> bool {
    name.eq_ignore_ascii_case(MAIN)
}

pub(crate) struct Session<'a> {
    pub(crate) network: Network,
    endpoints: Endpoints,
    wallet: Option<&'a PrivateKeySigner>,
    main: DynProvider,
}

impl<'a> Session<'a> {
    pub(crate) async fn open(
        network: Network,
        endpoints: Endpoints,
        wallet: Option<&'a PrivateKeySigner>,
    ) -> eyre::Result<Self> {
        let main = network::connect_main(&network, &endpoints, wallet).await?;
        Ok(Self {
            network,
            endpoints,
            wallet,
            main,
        })
    }

    /// The route to side chain `name` (`None`: the only one), the one side chain the command
    /// names (`--side-rpc` applies to it).
    pub(crate) async fn route(&self, name: Option<&str>) -> eyre::Result<Net> {
        self.open_route(name, true).await
    }

    /// One of two side chains a command names (`--side-rpc`, for one chain, applies to none).
    pub(crate) async fn one_of_two(&self, name: &str) -> eyre::Result<Net> {
        self.open_route(Some(name), false).await
    }

    async fn open_route(&self, name: Option<&str>, one_side: bool) -> eyre::Result<Net> {
        let deployment = self.network.route(name)?;
        network::connect(
            deployment,
            self.main.clone(),
            &self.endpoints,
            one_side,
            self.wallet,
        )
        .await
    }

    /// Every route, or the one side chain `--from`/`--to` name.
    pub(crate) async fn routes(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> eyre::Result<Vec<Net>> {
        let named: Vec<&str> = [from, to]
            .into_iter()
            .flatten()
            .filter(|n| !is_main(n))
            .collect();
        match named.as_slice() {
            [] if self.network.sides.len() == 1 => Ok(vec![self.route(None).await?]),
            [] => {
                let mut nets = Vec::with_capacity(self.network.sides.len());
                for side in &self.network.sides {
                    let deployment = self.network.route(Some(&side.name))?;
                    nets.push(
                        network::connect(
                            deployment,
                            self.main.clone(),
                            &self.endpoints,
                            false,
                            self.wallet,
                        )
                        .await?,
                    );
                }
                Ok(nets)
            }
            [one] => Ok(vec![self.route(Some(one)).await?]),
            [a, b] => {
                let (a, b) = (self.one_of_two(a).await?, self.one_of_two(b).await?);
                Ok(vec![a, b])
            }
            _ => unreachable!("two flags name at most two chains"),
        }
    }

    /// The route whose side chain is `chain_id`'s bridge `bridge`, if the network has it.
    pub(crate) async fn route_of(
        &self,
        chain_id: u64,
        bridge: Address,
    ) -> eyre::Result<Option<Net>> {
        let Some(side) = self
            .network
            .sides
            .iter()
            .find(|s| s.chain.chain_id == chain_id && s.chain.bridge == bridge)
        else {
            return Ok(None);
        };
        let name = side.name.clone();
        Ok(Some(self.one_of_two(&name).await?))
    }
}

/// Where an outbound transfer goes, from `--from` and `--to` and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Path {
    /// Main → side chain (`None`: the only one).
    Deposit { to: Option<String> },
    /// Side chain → main.
    Withdrawal { from: Option<String> },
    /// Side chain → main chain's hub → another side chain.
    Chained { from: String, to: String },
}

/// Which command was used: `deposit`, `withdraw`, or `send` (any direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Deposit,
    Withdraw,
    Send,
}

pub(crate) fn path(verb: Verb, from: Option<&str>, to: Option<&str>) -> eyre::Result<Path> {
    let side = |n: Option<&str>| n.filter(|n| !is_main(n)).map(str::to_string);
    let main = |n: Option<&str>| n.is_some_and(is_main);
    match verb {
        Verb::Deposit => {
            if from.is_some() && !main(from) {
                bail!(
                    "a deposit leaves the main chain: to send from a side chain use withdraw or send"
                );
            }
            if main(to) {
                bail!("--to main: a deposit goes to a side chain");
            }
            Ok(Path::Deposit { to: side(to) })
        }
        Verb::Withdraw => {
            if main(from) {
                bail!(
                    "--from main: a withdrawal leaves a side chain (to leave the main chain, deposit)"
                );
            }
            match (side(from), side(to)) {
                (Some(from), Some(to)) => chained(from, to),
                (None, Some(_)) => {
                    bail!("--to another side chain needs --from: the side chain the tokens leave")
                }
                (from, None) => Ok(Path::Withdrawal { from }),
            }
        }
        Verb::Send => match (from, to) {
            (Some(f), Some(t)) if is_main(f) && is_main(t) => {
                bail!("--from and --to are both the main chain: nothing to bridge")
            }
            (Some(f), Some(t)) if is_main(f) => Ok(Path::Deposit { to: Some(t.into()) }),
            (Some(f), Some(t)) if is_main(t) => Ok(Path::Withdrawal {
                from: Some(f.into()),
            }),
            (Some(f), Some(t)) => chained(f.into(), t.into()),
            _ => bail!("send needs --from and --to: main or a side chain's name"),
        },
    }
}

fn chained(from: String, to: String) -> eyre::Result<Path> {
    if from.eq_ignore_ascii_case(&to) {
        bail!("--from and --to are the same side chain {from}: nothing to bridge");
    }
    Ok(Path::Chained { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(verb: Verb, from: Option<&str>, to: Option<&str>) -> Result<Path, String> {
        path(verb, from, to).map_err(|e| e.to_string())
    }

    #[test]
    fn from_and_to_name_the_path_or_a_clear_error() {
        assert_eq!(
            p(Verb::Deposit, None, Some("a")),
            Ok(Path::Deposit {
                to: Some("a".into())
            })
        );
        assert_eq!(p(Verb::Deposit, None, None), Ok(Path::Deposit { to: None }));
        assert_eq!(
            p(Verb::Withdraw, Some("b"), None),
            Ok(Path::Withdrawal {
                from: Some("b".into())
            })
        );
        assert_eq!(
            p(Verb::Withdraw, Some("b"), Some("MAIN")),
            Ok(Path::Withdrawal {
                from: Some("b".into())
            })
        );
        assert_eq!(
            p(Verb::Withdraw, Some("a"), Some("b")),
            Ok(Path::Chained {
                from: "a".into(),
                to: "b".into()
            })
        );
        assert_eq!(
            p(Verb::Send, Some("main"), Some("a")),
            Ok(Path::Deposit {
                to: Some("a".into())
            })
        );
        assert_eq!(
            p(Verb::Send, Some("a"), Some("main")),
            Ok(Path::Withdrawal {
                from: Some("a".into())
            })
        );
        assert_eq!(
            p(Verb::Send, Some("a"), Some("b")),
            Ok(Path::Chained {
                from: "a".into(),
                to: "b".into()
            })
        );
        for (verb, from, to, says) in [
            (Verb::Deposit, Some("a"), None, "leaves the main chain"),
            (Verb::Deposit, None, Some("main"), "goes to a side chain"),
            (Verb::Withdraw, Some("main"), None, "leaves a side chain"),
            (Verb::Withdraw, None, Some("b"), "needs --from"),
            (Verb::Send, Some("a"), Some("A"), "same side chain"),
            (Verb::Send, Some("main"), Some("main"), "nothing to bridge"),
            (Verb::Send, None, Some("a"), "needs --from and --to"),
        ] {
            let err = p(verb, from, to).expect_err("refused");
            assert!(err.contains(says), "{verb:?} {from:?} {to:?}: {err}");
        }
    }
}
