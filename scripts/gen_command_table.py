#!/usr/bin/env python3
"""Generates proxy/command/command_table_data.inc, ringproxy's command table, from a live
redis-server's COMMAND reply; `--markdown` prints the supported-commands table for the README.

Owns: the routing-strategy decision for every Redis command, as the explicit name lists
below, so a reviewer reads policy here rather than in C++. Redis supplies arity, legacy key
spec and flags; this script only adds our strategy and the numkeys position.
Called by: a developer after changing a list or moving to a new Redis version
(`scripts/gen_command_table.py`), CI (`--check`), README upkeep (`--markdown`).
The .inc is committed, so building ringproxy never needs Redis.

Standard library only: Debian's /usr/bin/python3 has no redis-py, and a small RESP reader
is easier to trust than a dependency.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPO_ROOT, "proxy", "command", "command_table_data.inc")
EXPECTED_MAJOR_MINOR = "7.0."

# Redis flag name -> cmd::Flag enumerator. Order and bits must match command_table.h; an
# unknown flag aborts generation so a new Redis version cannot slip past silently.
# may_replicate exists in C++ for completeness, but Redis 7.0 hides it from COMMAND.
FLAG_ENUMS = {
    "write": "Write",
    "readonly": "ReadOnly",
    "denyoom": "Denyoom",
    "admin": "Admin",
    "pubsub": "PubSub",
    "noscript": "NoScript",
    "blocking": "Blocking",
    "loading": "Loading",
    "stale": "Stale",
    "skip_monitor": "SkipMonitor",
    "fast": "Fast",
    "no_auth": "NoAuth",
    "may_replicate": "MayReplicate",
    "movablekeys": "MovableKeys",
    "skip_slowlog": "SkipSlowlog",
    "asking": "Asking",
    "no_mandatory_keys": "NoMandatoryKeys",
    "no_async_loading": "NoAsyncLoading",
    "no_multi": "NoMulti",
    "allow_busy": "AllowBusy",
    "module": "Module",
}

# ---------------------------------------------------------------------------------------
# Strategy lists. Every command Redis reports must land in exactly one list, or be a plain
# single-key command (firstKey == lastKey > 0, no movable keys), which defaults to SingleKey.
# ---------------------------------------------------------------------------------------

# The proxy answers these itself: connection state, introspection, or per-connection no-ops.
LOCAL = [
    "auth", "client", "command", "echo", "hello", "info", "lolwut", "ping", "quit",
    "readonly", "readwrite", "reset", "select", "time",
    # config get is answered from the proxy's view; the handler decides per subcommand
    # (set/resetstat are broadcast, rewrite refused) because only the top level is listed.
    "config",
]

# Whole keyspace: every shard is asked and the replies are merged (summed, concatenated,
# or cursor-chained).
KEYSPACE = ["dbsize", "flushall", "flushdb", "keys", "randomkey", "scan"]

# Sent unchanged to every shard so scripts/functions exist wherever a key may route.
BROADCAST = ["function", "script"]

TRANSACTION = ["discard", "exec", "multi", "unwatch", "watch"]

PUBSUB = [
    "psubscribe", "publish", "pubsub", "punsubscribe", "spublish", "ssubscribe",
    "subscribe", "sunsubscribe", "unsubscribe",
]

# Hold a backend connection for the duration. blmpop/bzmpop also carry a numkeys index.
BLOCKING = [
    "blmove", "blmpop", "blpop", "brpop", "brpoplpush", "bzmpop", "bzpopmax", "bzpopmin",
    "wait", "xread", "xreadgroup",
]

# Multi-key commands whose per-key results are independent, so they can be split per shard.
FANOUT = ["del", "exists", "mget", "mset", "touch", "unlink"]

# Several keys in one atomic operation: legal only when they all hash to one shard.
COLOCATED = [
    "bitop", "copy", "geosearchstore", "lcs", "lmove", "msetnx", "pfcount", "pfmerge",
    "rename", "renamenx", "rpoplpush", "sdiff", "sdiffstore", "sinter", "sinterstore",
    "smove", "sunion", "sunionstore", "zrangestore",
    # Movable: the STORE/STOREDIST destination joins the source key (parsed in C++).
    "georadius", "georadiusbymember", "sort",
]

# Index of the numkeys argument. Cross-checked against Redis's `keynum` key specs.
# Commands here not claimed by another list get the NumKeys strategy.
NUMKEYS_INDEX = {
    "eval": 2, "eval_ro": 2, "evalsha": 2, "evalsha_ro": 2, "fcall": 2, "fcall_ro": 2,
    "lmpop": 1, "sintercard": 1, "zdiff": 1, "zinter": 1, "zintercard": 1, "zmpop": 1,
    "zunion": 1, "zdiffstore": 2, "zinterstore": 2, "zunionstore": 2,
    "blmpop": 2, "bzmpop": 2,
}

# Server administration, replication and cluster plumbing: meaningless or dangerous
# through a sharding proxy, so refused with an error.
UNSUPPORTED = [
    "acl", "asking", "bgrewriteaof", "bgsave", "cluster", "debug", "failover", "lastsave",
    "latency", "migrate", "module", "monitor", "move", "pfdebug", "pfselftest", "psync",
    "replconf", "replicaof", "restore-asking", "role", "save", "shutdown", "slaveof",
    "slowlog", "swapdb", "sync",
]

# Container commands whose top level reports no key (firstKey 0) but whose keyed
# subcommands all put the key at argv[2] (`object encoding key`, `memory usage key`,
# `xinfo stream key`, `xgroup create key ...`). We record that subcommand key spec on the
# top-level entry and route them as SingleKey; keyless subcommands (`object help`,
# `memory stats`) yield no key and may go to any shard.
SUBCOMMAND_KEYED = ["memory", "object", "xgroup", "xinfo"]

# Movable-keys commands that still route by their one real key. sort_ro's BY/GET patterns
# name keys Redis itself cannot know in advance; hash tags are the user's job there.
SINGLE_KEY_MOVABLE = ["sort_ro"]

# Movable-keys commands whose keys the C++ side finds by parsing options (no numkeys).
# Must stay in sync with kMovableParsers in command_keys.cpp.
PARSED_MOVABLE = ["georadius", "georadiusbymember", "migrate", "sort", "xread", "xreadgroup"]

NOTES = {
    "config": "GET answered locally; SET broadcast",
    "dbsize": "summed over shards",
    "keys": "concatenated over shards",
    "spublish": "routed by shard-channel hash",
    "ssubscribe": "routed by shard-channel hash",
    "sunsubscribe": "routed by shard-channel hash",
    "flushall": "every shard",
    "flushdb": "every shard",
    "sort": "STORE destination must share the shard",
    "sort_ro": "BY/GET patterns not routed",
    "georadius": "STORE/STOREDIST destination must share the shard",
    "georadiusbymember": "STORE/STOREDIST destination must share the shard",
    "xread": "keys after STREAMS; all on one shard",
    "xreadgroup": "keys after STREAMS; all on one shard",
    "eval": "numkeys may be 0",
    "evalsha": "numkeys may be 0",
    "eval_ro": "numkeys may be 0",
    "evalsha_ro": "numkeys may be 0",
    "fcall": "numkeys may be 0",
    "fcall_ro": "numkeys may be 0",
    "select": "db 0 only",
    "mset": "split per shard",
    "mget": "split per shard, order kept",
    "del": "split per shard, counts summed",
    "unlink": "split per shard, counts summed",
    "exists": "split per shard, counts summed",
    "touch": "split per shard, counts summed",
    "msetnx": "atomic: keys must share a shard",
}

STRATEGY_LISTS = [
    ("Local", LOCAL), ("Keyspace", KEYSPACE), ("Broadcast", BROADCAST),
    ("Transaction", TRANSACTION), ("PubSub", PUBSUB), ("Blocking", BLOCKING),
    ("Fanout", FANOUT), ("CoLocated", COLOCATED), ("Unsupported", UNSUPPORTED),
    ("SingleKey", SUBCOMMAND_KEYED + SINGLE_KEY_MOVABLE),
]
STRATEGY_ORDER = ["Local", "SingleKey", "Fanout", "CoLocated", "NumKeys", "Keyspace",
                  "Broadcast", "Transaction", "PubSub", "Blocking", "Unsupported"]


class GenError(Exception):
    pass


# ----------------------------------- RESP client ---------------------------------------

def readReply(stream):
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise GenError("connection closed mid-reply")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise GenError("redis error: " + body.decode())
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        return stream.read(size + 2)[:-2].decode()
    if kind == b"*":
        size = int(body)
        return None if size < 0 else [readReply(stream) for _ in range(size)]
    raise GenError("unexpected RESP type %r" % line)


def call(sock, stream, *args):
    frame = b"*%d\r\n" % len(args)
    for arg in args:
        data = arg.encode()
        frame += b"$%d\r\n%s\r\n" % (len(data), data)
    sock.sendall(frame)
    return readReply(stream)


def freePort():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def connect(port, server=None, attempts=50):
    for _ in range(attempts):
        if server is not None and server.poll() is not None:
            raise GenError("redis-server exited with %d" % server.returncode)
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.1)
    raise GenError("cannot connect to redis-server on port %d" % port)


def fetchCommands(port):
    """Returns (redis_version, COMMAND reply). Spawns a private server unless port given."""
    server, workDir = None, None
    try:
        if port is None:
            workDir = tempfile.mkdtemp(prefix="rp-gencmd-")
            port = freePort()
            server = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", workDir],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sock = connect(port, server)
        with sock, sock.makefile("rb") as stream:
            info = call(sock, stream, "INFO", "server")
            version = next(l.split(":", 1)[1].strip() for l in info.splitlines()
                           if l.startswith("redis_version:"))
            return version, call(sock, stream, "COMMAND")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if workDir is not None:
            shutil.rmtree(workDir, ignore_errors=True)


# ----------------------------------- table building ------------------------------------

def pairs(flat):
    """RESP2 flattens maps into [k, v, k, v...]."""
    return dict(zip(flat[0::2], flat[1::2]))


def keynumIndex(keySpecs):
    """numkeys position from Redis's `keynum` key spec, or 0."""
    for spec in keySpecs or []:
        spec = pairs(spec)
        find = pairs(spec["find_keys"])
        if find["type"] != "keynum":
            continue
        begin = pairs(spec["begin_search"])
        if begin["type"] != "index":
            raise GenError("keynum spec with non-index begin_search")
        return pairs(begin["spec"])["index"] + pairs(find["spec"])["keynumidx"]
    return 0


def subcommandKeySpec(entry):
    """The common (first, last, step) of all keyed subcommands, or None if they disagree."""
    specs = {(sub[3], sub[4], sub[5]) for sub in entry[9] or [] if sub[3] > 0}
    return specs.pop() if len(specs) == 1 else None


def assignStrategy(name, first, last, flags, claimed):
    if name in claimed:
        return claimed[name]
    if name in NUMKEYS_INDEX:
        return "NumKeys"
    if first > 0 and first == last and "movablekeys" not in flags:
        return "SingleKey"
    raise GenError("command %r (keys %d..%d, flags %s) is in no strategy list"
                   % (name, first, last, " ".join(flags)))


def buildTable(reply):
    names = {entry[0] for entry in reply}
    claimed = {}
    for strategy, members in STRATEGY_LISTS:
        for name in members:
            if name not in names:
                raise GenError("%s lists %r, which Redis does not know" % (strategy, name))
            if name in claimed:
                raise GenError("%r is in both %s and %s" % (name, claimed[name], strategy))
            claimed[name] = strategy
    for name in list(NUMKEYS_INDEX) + PARSED_MOVABLE:
        if name not in names:
            raise GenError("%r is not a Redis command" % name)

    rows = []
    for entry in reply:
        name, arity, flags, first, last, step = entry[:6]
        unknown = [f for f in flags if f not in FLAG_ENUMS]
        if unknown:
            raise GenError("%s: unmapped flags %s; add them to FLAG_ENUMS and the enum"
                           % (name, unknown))
        comment = ""
        if name in SUBCOMMAND_KEYED:
            sub = subcommandKeySpec(entry)
            if first != 0 or sub is None:
                raise GenError("%s: expected keyless top level, one subcommand key spec" % name)
            first, last, step = sub
            comment = "key spec taken from its keyed subcommands"
        numKeys = keynumIndex(entry[8])
        if numKeys != NUMKEYS_INDEX.get(name, 0):
            raise GenError("%s: Redis says numkeys at %d, NUMKEYS_INDEX says %d"
                           % (name, numKeys, NUMKEYS_INDEX.get(name, 0)))
        if ("movablekeys" in flags and not numKeys and name not in PARSED_MOVABLE
                and name not in SINGLE_KEY_MOVABLE):
            raise GenError("%s has movable keys but no numkeys index or parser" % name)
        rows.append({
            "name": name, "arity": arity, "first": first, "last": last, "step": step,
            "numKeys": numKeys, "flags": list(flags),
            "strategy": assignStrategy(name, first, last, flags, claimed),
            "comment": comment,
        })
    # Byte order, because lookup() binary-searches with std::string_view comparison.
    rows.sort(key=lambda row: row["name"].encode())
    return rows


# ----------------------------------- output --------------------------------------------

def renderInc(rows, version):
    out = [
        "// Redis %s command table: one RP_COMMAND per top-level command." % version,
        "// GENERATED by scripts/gen_command_table.py from a live redis-server's COMMAND reply.",
        "// Do not edit: change the strategy lists in the script and regenerate. Included by",
        "// proxy/command/command_table.cpp; rows are in byte order because lookup() binary-searches.",
        "// RP_COMMAND(name, arity, firstKey, lastKey, keyStep, numKeysIndex, flags, strategy)",
    ]
    for row in rows:
        flags = " | ".join(FLAG_ENUMS[f] for f in row["flags"]) or "0"
        line = "RP_COMMAND(%-23s %3d, %2d, %2d, %d, %d, %s, %s)" % (
            '"%s",' % row["name"], row["arity"], row["first"], row["last"], row["step"],
            row["numKeys"], flags, row["strategy"])
        if row["comment"]:
            line += "  // " + row["comment"]
        out.append(line)
    return "\n".join(out) + "\n"


def describeArity(arity):
    return "%d" % arity if arity > 0 else ">= %d" % -arity


def describeKeys(row):
    """Where the keys sit, when that is not the obvious single argv[1]."""
    first, last, step = row["first"], row["last"], row["step"]
    if first <= 0 or (first == 1 and last == 1):
        return ""
    if first == last:
        return "key at argv[%d]" % first
    end = "" if last == -1 else "%d" % last
    every = "" if step == 1 else ", step %d" % step
    return "keys at argv[%d..%s]%s" % (first, end, every)


def rowNotes(row):
    notes = []
    if row["numKeys"]:
        if row["first"] > 0:
            notes.append("key at argv[%d]" % row["first"])
        notes.append("numkeys at argv[%d]" % row["numKeys"])
    elif row["comment"]:
        notes.append("key at argv[%d] (subcommand)" % row["first"])
    elif describeKeys(row) and row["strategy"] != "PubSub":
        notes.append(describeKeys(row))
    if row["name"] in NOTES:
        notes.append(NOTES[row["name"]])
    return "; ".join(notes)


def renderMarkdown(rows, version):
    counts = {s: sum(1 for r in rows if r["strategy"] == s) for s in STRATEGY_ORDER}
    out = [
        "<!-- generated by scripts/gen_command_table.py --markdown (Redis %s) -->" % version,
        "",
        "%d commands: " % len(rows) + ", ".join("%s %d" % (s, counts[s])
                                                for s in STRATEGY_ORDER if counts[s]) + ".",
        "Arity counts the command name; `>= N` means at least N arguments.",
        "",
        "| Command | Strategy | Arity | Notes |",
        "|---|---|---|---|",
    ]
    for row in rows:
        out.append("| `%s` | %s | %s | %s |" % (row["name"].upper(), row["strategy"],
                                                describeArity(row["arity"]), rowNotes(row)))
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int,
                        help="use a running redis-server on 127.0.0.1:PORT "
                             "(default: start a private one)")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="the .inc to write")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--markdown", action="store_true",
                      help="print the supported-commands table instead of writing the .inc")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if the committed .inc differs from a fresh generation")
    args = parser.parse_args()
    try:
        version, reply = fetchCommands(args.port)
        if not version.startswith(EXPECTED_MAJOR_MINOR):
            raise GenError("redis-server %s; the table targets %sx"
                           % (version, EXPECTED_MAJOR_MINOR))
        rows = buildTable(reply)
    except (GenError, OSError) as err:
        print("gen_command_table: %s" % err, file=sys.stderr)
        return 2
    if args.markdown:
        sys.stdout.write(renderMarkdown(rows, version))
        return 0
    text = renderInc(rows, version)
    if args.check:
        with open(args.output, encoding="utf-8") as current:
            if current.read() != text:
                print("gen_command_table: %s is stale; regenerate it" % args.output,
                      file=sys.stderr)
                return 1
        return 0
    with open(args.output, "w", encoding="utf-8") as target:
        target.write(text)
    counts = {s: sum(1 for r in rows if r["strategy"] == s) for s in STRATEGY_ORDER}
    print("wrote %d commands to %s: %s" % (len(rows), args.output,
          ", ".join("%s %d" % (s, n) for s, n in counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
