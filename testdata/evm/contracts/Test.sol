// SPDX-License-Identifier: Apache-2.0
// Contracts the geth integration test deploys (internal/ingest): ETH
// forwarded by a contract (internal transfers, one of them undone by a
// revert) and a minimal ERC-20 token.
pragma solidity ^0.8.0;

contract Forwarder {
    // forward pays all of msg.value on to `to`: an internal transfer.
    function forward(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
    }

    // split pays half to a and the rest to b: two internal transfers.
    function split(address payable a, address payable b) external payable {
        a.transfer(msg.value / 2);
        b.transfer(msg.value - msg.value / 2);
    }

    // forwardThenRevert makes an internal transfer and then reverts, so
    // nothing moves.
    function forwardThenRevert(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
        revert("undone");
    }
}

contract Token {
    string public symbol = "TST";
    uint8 public decimals = 6;
    mapping(address => uint256) public balanceOf;

    event Transfer(address indexed from, address indexed to, uint256 value);

    constructor(uint256 supply) {
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(balanceOf[msg.sender] >= value, "balance");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }
}
