#!/usr/bin/python3
"""redis-py (the Python client most applications use) against a running ringproxy.

Usage: redis_py_smoke.py <proxy port>

Runs every check even after one fails, prints "OK <check>" or "FAIL <check>: <why>" per
check (pub/sub failures as "PUBSUB FAILED: <why>"), and exits 1 when anything failed, 2
when redis-py is missing. Run by tests/integration/redis_py_e2e_test.cpp with Debian's
/usr/bin/python3 and its python3-redis package.
"""
import sys
import time
import traceback

try:
    import redis
except ImportError as e:  # the C++ test reports this output
    print("FAIL import redis: %s (install python3-redis)" % e)
    sys.exit(2)

PORT = int(sys.argv[1])
failures = []


def client():
    return redis.Redis(host="127.0.0.1", port=PORT, socket_timeout=5,
                       socket_connect_timeout=5, decode_responses=True)


def check(name, fn):
    try:
        fn()
        print("OK %s" % name)
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        detail = "%s: %s" % (type(e).__name__, e)
        failures.append(name)
        if name == "pubsub":
            print("PUBSUB FAILED: %s" % detail)
        else:
            print("FAIL %s: %s" % (name, detail))
        traceback.print_exc(limit=3, file=sys.stdout)


def expect(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, expected %r" % (what, got, want))


r = client()


def connect_and_strings():
    expect(r.ping(), True, "PING")
    expect(r.set("py:s", "hello"), True, "SET")
    expect(r.get("py:s"), "hello", "GET")
    expect(r.get("py:absent"), None, "GET absent")
    expect(r.incr("py:n"), 1, "INCR")
    expect(r.client_setname("py-smoke"), True, "CLIENT SETNAME")
    expect(r.client_getname(), "py-smoke", "CLIENT GETNAME")


def pipeline_plain():
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set("py:p:%d" % i, "v%d" % i)
    for i in range(500):
        p.get("py:p:%d" % i)
    replies = p.execute()
    expect(len(replies), 1000, "pipeline reply count")
    expect(replies[:500], [True] * 500, "pipelined SETs")
    expect(replies[500:], ["v%d" % i for i in range(500)], "pipelined GETs")


def pipeline_transaction():
    p = r.pipeline(transaction=True)
    p.set("{py:acct}balance", 100)
    p.incrby("{py:acct}balance", -25)
    p.rpush("{py:acct}log", "debit")
    p.get("{py:acct}balance")
    expect(p.execute(), [True, 75, 1, "75"], "MULTI/EXEC results")
    # WATCH + MULTI through redis-py's optimistic-locking helper.
    def txn(pipe):
        value = int(pipe.get("{py:acct}balance"))
        pipe.multi()
        pipe.set("{py:acct}balance", value + 1)
    r.transaction(txn, "{py:acct}balance")
    expect(r.get("{py:acct}balance"), "76", "value after WATCH transaction")


def mget_mset():
    mapping = {"py:m:%d" % i: "mv%d" % i for i in range(300)}
    expect(r.mset(mapping), True, "MSET")
    keys = list(mapping) + ["py:m:absent"]
    expect(r.mget(keys), list(mapping.values()) + [None], "MGET")
    expect(r.exists(*mapping), 300, "EXISTS")
    expect(r.delete(*list(mapping)[:100]), 100, "DEL")


def scan_iter():
    wanted = {"py:scan:%d" % i for i in range(400)}
    p = r.pipeline(transaction=False)
    for k in wanted:
        p.set(k, "x")
    p.execute()
    seen = list(r.scan_iter(match="py:scan:*", count=25))
    dupes = len(seen) - len(set(seen))
    expect(dupes, 0, "keys returned more than once")
    expect(set(seen), wanted, "keys returned by scan_iter")


def hashes_zsets_expiry():
    expect(r.hset("py:h", mapping={"a": "1", "b": "2"}), 2, "HSET")
    expect(r.hgetall("py:h"), {"a": "1", "b": "2"}, "HGETALL")
    expect(r.zadd("py:z", {"x": 1, "y": 3, "z": 2}), 3, "ZADD")
    expect(r.zrange("py:z", 0, -1, withscores=True), [("x", 1.0), ("z", 2.0), ("y", 3.0)],
           "ZRANGE WITHSCORES")
    expect(r.set("py:e", "v"), True, "SET")
    expect(r.expire("py:e", 100), True, "EXPIRE")
    ttl = r.ttl("py:e")
    if not 90 <= ttl <= 100:
        raise AssertionError("TTL %r not in [90, 100]" % ttl)


def scripts():
    incr = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    for i in range(20):  # keys spread over every shard
        expect(incr(keys=["py:sc:%d" % i], args=[5]), 5, "script on py:sc:%d" % i)
        expect(incr(keys=["py:sc:%d" % i], args=[2]), 7, "script again on py:sc:%d" % i)
    expect(r.script_exists(incr.sha), [True], "SCRIPT EXISTS")


def pubsub():
    ps = r.pubsub()
    try:
        channels = ["py:chan:%d" % i for i in range(6)]  # spread over the shards
        ps.subscribe(*channels)
        confirmed = set()
        deadline = time.monotonic() + 5
        while len(confirmed) < len(channels) and time.monotonic() < deadline:
            m = ps.get_message(timeout=0.2)
            if m and m["type"] == "subscribe":
                confirmed.add(m["channel"])
        expect(confirmed, set(channels), "subscribe confirmations")
        publisher = client()
        for ch in channels:
            expect(publisher.publish(ch, "hi " + ch), 1, "PUBLISH %s receivers" % ch)
        got = {}
        deadline = time.monotonic() + 5
        while len(got) < len(channels) and time.monotonic() < deadline:
            m = ps.get_message(timeout=0.2)
            if m and m["type"] == "message":
                got[m["channel"]] = m["data"]
        expect(got, {ch: "hi " + ch for ch in channels}, "messages received")
        ps.unsubscribe()
        publisher.close()
    finally:
        ps.close()


check("connect, set/get, client name", connect_and_strings)
check("pipeline(transaction=False) of 1,000 commands", pipeline_plain)
check("pipeline(transaction=True) with hash tags", pipeline_transaction)
check("mget/mset across shards", mget_mset)
check("scan_iter returns every key exactly once", scan_iter)
check("hset/hgetall, zadd/zrange, expire/ttl", hashes_zsets_expiry)
check("script register + call", scripts)
check("pubsub", pubsub)

if failures:
    print("FAILED: %d check(s): %s" % (len(failures), "; ".join(failures)))
    sys.exit(1)
print("ALL OK")
