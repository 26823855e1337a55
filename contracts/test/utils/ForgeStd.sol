// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// The single place the tests take forge-std from (remapped in foundry.toml to the forge-std that
// the pinned @layerzerolabs/toolbox-foundry package carries).
import {Test, Vm, stdError} from "forge-std/Test.sol";
