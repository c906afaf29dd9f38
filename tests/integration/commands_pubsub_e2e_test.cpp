// Full command coverage, part 4: pub/sub through ringproxy with channels on different
// shards — SUBSCRIBE/PSUBSCRIBE from one client, PUBLISH from another, messages received,
// PING and the RESP2 command restriction in subscribed mode, UNSUBSCRIBE/PUNSUBSCRIBE
// counts, and PUBSUB CHANNELS/NUMSUB/NUMPAT aggregated over the shards.
// Owns: nothing shared (each TEST_CASE builds its own ShardedCluster on free ports).
// Run by: ctest as "e2e: commands: ...".
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/commands_e2e.h"
#include "tests/support/cluster.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace cmdtest;
using namespace std::chrono_literals;

namespace {

Reply confirmation(const std::string& kind, const std::string& name, long long count) {
  return array({bulk(kind), bulk(name), integer(count)});
}

// "news.<suffix>" names on two different shards (news.a first when it can be).
std::pair<std::string, std::string> newsChannels(const ShardedCluster& cluster) {
  const std::string first = "news.a";
  for (const std::string suffix : {"b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}) {
    if (cluster.ownerOf("news." + suffix) != cluster.ownerOf(first)) return {first, "news." + suffix};
  }
  for (int i = 0;; ++i) {
    const std::string other = cat("news.", i);
    if (cluster.ownerOf(other) != cluster.ownerOf(first)) return {first, other};
  }
}

}  // namespace

TEST_CASE("commands: pub/sub with channels on different shards", "[commands][pubsub]") {
  ShardedCluster cluster(suiteOptions());
  Client sub = cluster.client(3000ms);
  Client pub = cluster.client();
  std::vector<std::string> channels;
  for (size_t s = 0; s < cluster.shardCount(); ++s) channels.push_back(cluster.keyOnShard(s, "chan:"));

  sub.append({"SUBSCRIBE", channels[0], channels[1], channels[2]});
  for (size_t i = 0; i < channels.size(); ++i) {
    CHECK(sub.getReply() == confirmation("subscribe", channels[i], static_cast<long long>(i + 1)));
  }
  REQUIRE(sub.ok());
  for (size_t i = 0; i < channels.size(); ++i) {
    INFO("channel " << channels[i] << " on s" << cluster.ownerOf(channels[i]) + 1);
    CHECK(pub.cmd({"PUBLISH", channels[i], cat("msg", i)}) == integer(1));
    CHECK(sub.getReply() == array({bulk("message"), bulk(channels[i]), bulk(cat("msg", i))}));
  }

  const auto [newsA, newsB] = newsChannels(cluster);
  REQUIRE(cluster.ownerOf(newsA) != cluster.ownerOf(newsB));
  sub.append({"PSUBSCRIBE", "news.*"});
  CHECK(sub.getReply() == confirmation("psubscribe", "news.*", 4));
  for (const std::string& ch : {newsA, newsB}) {
    INFO("PUBLISH " << ch << " (s" << cluster.ownerOf(ch) + 1 << ")");
    CHECK(pub.cmd({"PUBLISH", ch, "headline " + ch}) == integer(1));
    CHECK(sub.getReply() == array({bulk("pmessage"), bulk("news.*"), bulk(ch), bulk("headline " + ch)}));
  }

  // Subscribed mode (RESP2): PING answers ["pong", ""], other commands are refused.
  sub.append({"PING"});
  CHECK(sub.getReply() == array({bulk("pong"), bulk("")}));
  sub.append({"GET", "k"});
  CHECK(sub.getReply() ==
        errorReply("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                   "RESET are allowed in this context"));

  // Introspection from another client, summed over the shards.
  CHECK(sortedStrings(pub.cmd({"PUBSUB", "CHANNELS"})) == sorted(channels));
  CHECK(sortedStrings(pub.cmd({"PUBSUB", "CHANNELS", "chan:*"})) == sorted(channels));
  CHECK(pub.cmd({"PUBSUB", "NUMSUB", channels[0], channels[1], channels[2], "chan:none"}) ==
        array({bulk(channels[0]), integer(1), bulk(channels[1]), integer(1), bulk(channels[2]),
               integer(1), bulk("chan:none"), integer(0)}));
  CHECK(pub.cmd({"PUBSUB", "NUMPAT"}) == integer(1));

  sub.append({"UNSUBSCRIBE", channels[0]});
  CHECK(sub.getReply() == confirmation("unsubscribe", channels[0], 3));
  CHECK(pub.cmd({"PUBLISH", channels[0], "nobody"}) == integer(0));
  CHECK(pub.cmd({"PUBLISH", channels[1], "still"}) == integer(1));
  CHECK(sub.getReply() == array({bulk("message"), bulk(channels[1]), bulk("still")}));

  sub.append({"PUNSUBSCRIBE", "news.*"});
  CHECK(sub.getReply() == confirmation("punsubscribe", "news.*", 2));
  sub.append({"UNSUBSCRIBE"});
  std::set<std::string> left;
  std::set<long long> counts;
  for (int i = 0; i < 2; ++i) {
    Reply r = sub.getReply();
    INFO("UNSUBSCRIBE (all) reply " << i << ": " << r);
    REQUIRE(r.type == ReplyType::Array);
    REQUIRE(r.elements.size() == 3);
    CHECK(r.elements[0] == bulk("unsubscribe"));
    left.insert(r.elements[1].str);
    counts.insert(r.elements[2].integer);
  }
  CHECK(left == std::set<std::string>{channels[1], channels[2]});
  CHECK(counts == std::set<long long>{0, 1});

  // Out of subscribed mode: an ordinary connection again.
  CHECK(sub.cmd({"SET", "k", "v"}) == status("OK"));
  CHECK(sub.cmd({"GET", "k"}) == bulk("v"));
  CHECK(pub.cmd({"PUBSUB", "NUMSUB", channels[1]}) == array({bulk(channels[1]), integer(0)}));
  CHECK(pub.cmd({"PUBSUB", "NUMPAT"}) == integer(0));
}
