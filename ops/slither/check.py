"""Slither over contracts/src, gated by a reviewed list of accepted findings.

    .tools/venv/bin/python ops/slither/check.py [--verbose] [--json FILE]

ops/test runs it (ops/setup installs slither into .tools/venv). It compiles every .sol file
under contracts/src in one solc standard-JSON unit through the project's solc (.tools/bin/solc,
solc-js: nothing is downloaded), with the remappings of contracts/foundry.toml made ABSOLUTE. A
relative `../node_modules/...` target would have solc load OpenZeppelin under two source-unit
names, and slither, meeting two contracts of one name, silently drops findings; so the run
also checks that every contract was analysed exactly once and that slither built its IR for
every function (one known slither gap in OpenZeppelin's transient reentrancy guard aside).

A finding is named `<detector> <Contract>.<function>[ <variable>]` (no line numbers, so edits
elsewhere in a file do not disturb it). Findings of Medium or High impact in contracts/src fail
the run unless ops/slither/accepted.json lists them with the reason they are accepted; Low and
Informational ones are reported only. Findings that lie wholly in OpenZeppelin are counted,
not gated: that code is pinned by package-lock.json and audited upstream.
"""

import argparse
import collections
import glob
import inspect
import json
import logging
import os
import re
import sys
import tempfile
import time
import tomllib

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CONTRACTS = os.path.join(ROOT, "contracts")
ACCEPTED = os.path.join(ROOT, "ops", "slither", "accepted.json")
SOLC = os.path.join(ROOT, ".tools", "bin", "solc")
OURS = "contracts/src/"

# slither 0.11.6 cannot build IR for these (`using TransientSlot for *` on a bytes32 constant:
# convert_constant_types meets a call without a resolved function). They only set and read the
# guard's transient slot; slither's reentrancy detectors recognise `nonReentrant` by name.
KNOWN_IR_GAPS = {
    ("node_modules/@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol", name)
    for name in ("_nonReentrantBefore", "_nonReentrantAfter", "_reentrancyGuardEntered")
}
GATED = ("High", "Medium")
IMPACTS = ("High", "Medium", "Low", "Informational", "Optimization")


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def standard_json_input():
    """Every .sol file under contracts/src, named relative to the repository, remapped absolutely."""
    with open(os.path.join(CONTRACTS, "foundry.toml"), "rb") as f:
        profile = tomllib.load(f)["profile"]["default"]
    remappings = []
    for remapping in profile.get("remappings", []):
        prefix, target = remapping.split("=", 1)
        absolute = os.path.realpath(os.path.join(CONTRACTS, target))
        remappings.append(f"{prefix}={absolute}/")
    sources = sorted(
        os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(CONTRACTS, "src", "**", "*.sol"), recursive=True)
    )
    if not sources:
        raise SystemExit("ops/slither: no .sol files under contracts/src")
    return sources, {
        "language": "Solidity",
        "sources": {s: {"urls": [s]} for s in sources},
        "settings": {
            "remappings": remappings,
            # analysis only: the optimizer changes nothing slither reads and costs time
            "optimizer": {"enabled": False},
            "evmVersion": profile.get("evm_version", "prague"),
        },
    }


class IrGaps(logging.Handler):
    """Collects slither's 'Impossible/Failed to generate IR' reports."""

    PATTERN = re.compile(r"(?:Impossible|Failed) to generate IR for (?:top level function )?(\S+) \((.*?)#")

    def __init__(self):
        super().__init__(logging.ERROR)
        self.gaps = []

    def emit(self, record):
        message = record.getMessage()
        m = self.PATTERN.search(message)
        if m:
            self.gaps.append((m.group(1), m.group(2)))
        elif "generate IR" in message:
            self.gaps.append((message.strip().splitlines()[0], "?"))


def element_file(element):
    return element.get("source_mapping", {}).get("filename_relative", "")


def anchor(element):
    """Contract.function[ variable] (or Contract[.member]) of a result element."""
    kind, name = element.get("type"), element.get("name")
    parent = element.get("type_specific_fields", {}).get("parent", {})
    if kind == "function":
        return f"{parent.get('name', '?')}.{name}"
    if kind in ("variable", "node") and parent.get("type") == "function":
        contract = parent.get("type_specific_fields", {}).get("parent", {}).get("name", "?")
        base = f"{contract}.{parent.get('name')}"
        return f"{base} {name}" if kind == "variable" else base
    if parent.get("type") == "contract":
        return f"{parent.get('name')}.{name}"
    if kind == "contract":
        return name
    return f"{os.path.basename(element_file(element))}:{name}"


def finding_key(result):
    elements = result.get("elements", [])
    ours = [e for e in elements if element_file(e).startswith(OURS)]
    first = (ours or elements or [{}])[0]
    return f"{result['check']} {anchor(first)}", first, bool(ours)


def location(element):
    sm = element.get("source_mapping", {})
    lines = sm.get("lines") or [0]
    return f"{sm.get('filename_relative', '?')}#{lines[0]}"


def summary_line(result):
    return " ".join(result.get("description", "").split())[:160]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list every Low and Informational finding")
    parser.add_argument("--json", help="write every finding, with its key, to this file")
    args = parser.parse_args()

    # imported here so that --help works without slither
    from slither import Slither
    from slither.detectors import all_detectors
    from slither.detectors.abstract_detector import AbstractDetector

    os.chdir(ROOT)
    started = time.monotonic()
    sources, solc_input = standard_json_input()
    gaps = IrGaps()
    for name in ("ContractSolcParsing", "SlitherSolcParsing"):
        # ours to report (known gaps silently), not slither's to print
        logger = logging.getLogger(name)
        logger.addHandler(gaps)
        logger.propagate = False
    with tempfile.TemporaryDirectory(prefix="sidebridge-slither.") as scratch:
        input_path = os.path.join(scratch, "contracts-src.json")
        with open(input_path, "w") as f:
            json.dump(solc_input, f)
        try:
            slither = Slither(
                input_path, compile_force_framework="solc-json", solc=SOLC, solc_disable_warnings=True
            )
        except Exception as error:  # a compilation error: say it in one place and stop
            say(f"ops/slither: compiling contracts/src failed: {type(error).__name__}: {error}")
            return 1
    for detector in inspect.getmembers(all_detectors, inspect.isclass):
        if issubclass(detector[1], AbstractDetector):
            slither.register_detector(detector[1])
    results = [r for per_detector in slither.run_detectors() for r in per_detector]

    problems = []

    # Did slither see the whole AST, each contract once?
    contracts = [c for unit in slither.compilation_units for c in unit.contracts]
    by_name = collections.defaultdict(set)
    for c in contracts:
        by_name[c.name].add(c.source_mapping.filename.relative)
    for name, files in sorted(by_name.items()):
        if len(files) > 1:
            problems.append(f"contract {name} was compiled from {len(files)} paths ({', '.join(sorted(files))}): "
                            "a remapping is not absolute, and slither drops findings of duplicated contracts")
    analysed_files = {c.source_mapping.filename.relative for c in contracts}
    for source in sources:
        text = open(source, encoding="utf-8").read()
        if re.search(r"^\s*(abstract\s+)?(contract|library|interface)\s", text, re.M) and source not in analysed_files:
            problems.append(f"{source} declares contracts but slither analysed none of them")
    ours = sum(1 for c in contracts if c.source_mapping.filename.relative.startswith(OURS))
    oz = sum(1 for c in contracts if "@openzeppelin/contracts/" in c.source_mapping.filename.relative)
    say(f"slither: {len(contracts)} contracts analysed, each once: {ours} from contracts/src, "
        f"{oz} from OpenZeppelin, {len(contracts) - ours - oz} other")
    for function, path in gaps.gaps:
        name = function.rsplit(".", 1)[-1]
        if (path, name) not in KNOWN_IR_GAPS:
            problems.append(f"slither could not build IR for {function} ({path}): its findings would be missing")

    try:
        with open(ACCEPTED, encoding="utf-8") as f:
            accepted = {entry["finding"]: entry for entry in json.load(f)["accepted"]}
    except (OSError, ValueError, KeyError) as error:
        say(f"ops/slither: cannot read {os.path.relpath(ACCEPTED, ROOT)}: {error}")
        return 1
    for key, entry in accepted.items():
        if not entry.get("why", "").strip():
            problems.append(f"{os.path.relpath(ACCEPTED, ROOT)}: '{key}' has no reason")

    counts = collections.Counter()
    dependency_counts = collections.Counter()
    used = set()
    new, reported, listing = [], [], []
    for result in sorted(results, key=lambda r: (IMPACTS.index(r["impact"]), r["check"], finding_key(r)[0])):
        key, element, is_ours = finding_key(result)
        impact = result["impact"]
        listing.append({"finding": key, "impact": impact, "confidence": result["confidence"],
                        "ours": is_ours, "location": location(element), "description": result["description"]})
        if not is_ours:
            dependency_counts[impact] += 1
            continue
        counts[impact] += 1
        line = f"{impact:<13} {key}  ({location(element)}) {summary_line(result)}"
        if key in accepted:
            used.add(key)
            counts[f"{impact} accepted"] += 1
        elif impact in GATED:
            new.append(line)
        else:
            reported.append((impact, result["check"], line))

    if args.json:
        with open(args.json, "w") as f:
            json.dump(listing, f, indent=1)

    by_detector = collections.Counter((impact, check) for impact, check, _ in reported)
    for impact in ("Low", "Informational", "Optimization"):
        mine = [line for i, _, line in reported if i == impact]
        if not mine:
            continue
        if impact == "Low" or args.verbose:
            for line in mine:
                say(f"  {line}")
        else:
            say(f"  {impact}: " + ", ".join(f"{check} {n}" for (i, check), n in sorted(by_detector.items()) if i == impact)
                + " (--verbose lists them)")
    for key in sorted(set(accepted) - used):
        say(f"  note: accepted finding no longer reported, drop it from ops/slither/accepted.json: {key}")
    say("slither: contracts/src: " + ", ".join(
        f"{impact} {counts[impact]}" + (f" ({counts[impact + ' accepted']} accepted)" if counts[impact + " accepted"] else "")
        for impact in IMPACTS if counts[impact] or impact in GATED
    ) + "; OpenZeppelin (not gated): " + (", ".join(f"{i} {dependency_counts[i]}" for i in IMPACTS if dependency_counts[i]) or "none")
        + f"; {time.monotonic() - started:.0f}s")

    for line in new:
        say(f"slither: NEW {line}")
    for problem in problems:
        say(f"slither: {problem}")
    if new:
        say(f"ops/slither: {len(new)} Medium/High finding(s) not in ops/slither/accepted.json: fix them, or "
            "review and add each with the reason it is accepted")
    return 1 if new or problems else 0


if __name__ == "__main__":
    sys.exit(main())
