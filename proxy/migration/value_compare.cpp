// compareCopies (proxy/migration/value_compare.h): TYPE, then an order-independent
// comparison of sets and hashes. Called by the migrator's BUSYKEY path.
#include "proxy/migration/value_compare.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

namespace mig {
namespace {

// The elements of a set, or the field/value pairs of a hash, sorted: the same value gives
// the same list whatever order each server keeps it in. False on an unexpected reply.
bool canonical(const redisReply* r, bool pairs, std::vector<std::string>* out) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || (pairs && r->elements % 2 != 0)) {
    return false;
  }
  const size_t step = pairs ? 2 : 1;
  for (size_t i = 0; i < r->elements; i += step) {
    std::string item(replyText(r->element[i]));
    if (pairs) {
      // Length-prefixed, so "a"+"bc" and "ab"+"c" cannot collide.
      item = std::to_string(item.size()) + ":" + item;
      item += replyText(r->element[i + 1]);
    }
    out->push_back(std::move(item));
  }
  std::sort(out->begin(), out->end());
  return true;
}

bool readType(ShardLink& link, const std::string& key, std::string* type) {
  ReplyPtr r = link.command({"TYPE", key});
  if (r == nullptr || r->type != REDIS_REPLY_STATUS) return false;
  *type = std::string(replyText(r.get()));
  return true;
}

}  // namespace

Sameness compareCopies(ShardLink& source, ShardLink& target, const std::string& key) {
  std::string sourceType, targetType;
  if (!readType(source, key, &sourceType) || !readType(target, key, &targetType)) {
    return Sameness::Unreadable;
  }
  if (sourceType != targetType) return Sameness::Different;
  const bool pairs = sourceType == "hash";
  if (!pairs && sourceType != "set") return Sameness::Different;  // DUMP is canonical there
  const std::string command = pairs ? "HGETALL" : "SMEMBERS";
  ReplyPtr a = source.command({command, key});
  ReplyPtr b = target.command({command, key});
  std::vector<std::string> left, right;
  if (!canonical(a.get(), pairs, &left) || !canonical(b.get(), pairs, &right)) {
    return Sameness::Unreadable;
  }
  return left == right ? Sameness::Same : Sameness::Different;
}

}  // namespace mig
