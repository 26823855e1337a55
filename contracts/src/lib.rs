//! Sidebridge's contracts as Rust sees them: alloy bindings and bytecode for every contract
//! (generated from the committed artifacts in `contracts/artifacts`, so no compiler is needed to
//! build), the EIP-712 `Transfer` digest shared with Solidity, signature packing for
//! `MainBridge.release`, and [`deploy()`], which stands the whole system up on both chains.
//!
//! `sol!` lives in this crate only: proc-macro output is not cached incrementally, so every
//! other crate uses these bindings instead of generating its own.

mod deploy;
mod deploy_hub;
mod permit;
mod transfer;

pub use deploy::{
    ChainDeployment, DeployConfig, DeployError, Deployment, TokenDeployment, TokenSpec, deploy,
    is_majority_threshold,
};
pub use deploy_hub::{HubDeployment, RouteDeployment, RouteSpec, deploy_hub};
pub use permit::{domain_separator, permit_digest, permit_typehash};
pub use transfer::{Transfer, pack_signatures, route_id, transfer_digest, transfer_domain};

/// Generated bindings, one module per contract.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::too_many_arguments
)]
pub mod bindings {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        MainBridge,
        "artifacts/MainBridge.json"
    );
    // each in a module of its own: both ABIs name the enums of their shared storage contract,
    // `HubState`, which `sol!` declares beside the contract
    pub mod main_hub {
        alloy::sol!(
            #[sol(rpc)]
            #[derive(Debug, PartialEq, Eq)]
            MainHub,
            "artifacts/MainHub.json"
        );
    }
    pub mod main_hub_admin {
        alloy::sol!(
            #[sol(rpc)]
            #[derive(Debug, PartialEq, Eq)]
            MainHubAdmin,
            "artifacts/MainHubAdmin.json"
        );
    }
    pub use main_hub::MainHub;
    pub use main_hub_admin::MainHubAdmin;
    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        SideBridge,
        "artifacts/SideBridge.json"
    );
    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        AuthorityGovernance,
        "artifacts/AuthorityGovernance.json"
    );
    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        Operational,
        "artifacts/Operational.json"
    );
    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        WrappedToken,
        "artifacts/WrappedToken.json"
    );
    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        DemoToken,
        "artifacts/DemoToken.json"
    );
    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        BlockableToken,
        "artifacts/BlockableToken.json"
    );
    sol! {
        /// The ERC-20 surface the bridge relies on, for any main-chain token.
        #[sol(rpc)]
        interface IERC20Metadata {
            function name() external view returns (string memory);
            function symbol() external view returns (string memory);
            function decimals() external view returns (uint8);
            function balanceOf(address account) external view returns (uint256);
            function totalSupply() external view returns (uint256);
            function approve(address spender, uint256 amount) external returns (bool);
            function transfer(address to, uint256 amount) external returns (bool);
            function allowance(address owner, address spender) external view returns (uint256);
        }

        /// EIP-2612: approval by a signature, for tokens that have it.
        #[sol(rpc)]
        interface IERC20Permit {
            function nonces(address owner) external view returns (uint256);
            function DOMAIN_SEPARATOR() external view returns (bytes32);
            /// EIP-5267: the fields of the token's EIP-712 domain.
            function eip712Domain() external view returns (
                bytes1 fields,
                string name,
                string version,
                uint256 chainId,
                address verifyingContract,
                bytes32 salt,
                uint256[] extensions
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bindings::{
        AuthorityGovernance, MainBridge, MainHub, MainHubAdmin, Operational, SideBridge,
        WrappedToken,
    };

    /// EIP-170: a chain refuses to deploy runtime code above 24,576 bytes. Every contract the
    /// system deploys must fit, from the committed artifacts (regenerated from the sources by
    /// `sidebridge-compile`, whose check in `ops/test` keeps them current), so a change that
    /// grows one past the limit fails here rather than at deployment.
    #[test]
    fn every_deployed_contract_fits_eip_170() {
        const LIMIT: usize = 24_576;
        let sizes = [
            ("MainBridge", MainBridge::DEPLOYED_BYTECODE.len()),
            ("MainHub", MainHub::DEPLOYED_BYTECODE.len()),
            ("MainHubAdmin", MainHubAdmin::DEPLOYED_BYTECODE.len()),
            ("SideBridge", SideBridge::DEPLOYED_BYTECODE.len()),
            (
                "AuthorityGovernance",
                AuthorityGovernance::DEPLOYED_BYTECODE.len(),
            ),
            ("Operational", Operational::DEPLOYED_BYTECODE.len()),
            ("WrappedToken", WrappedToken::DEPLOYED_BYTECODE.len()),
        ];
        for (name, size) in sizes {
            assert!(size > 0, "{name} has no runtime code in its artifact");
            assert!(
                size <= LIMIT,
                "{name} is {size} bytes of runtime code, above EIP-170's {LIMIT}"
            );
        }
    }
}
