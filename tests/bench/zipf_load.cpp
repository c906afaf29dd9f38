// zipf_load: a read load with Zipf-distributed key popularity, for scripts/bench-cache.sh.
// Not a test: a load generator. Each thread has one hiredis connection and keeps
// `pipeline` GETs in flight; key rank r (0 = hottest) is read with probability
// proportional to 1 / (r + 1)^s. Keys are <prefix><rank> ("key:0" ...), the names
// DEBUG POPULATE gives, so a shard can be filled without a client loop.
//   zipf_load PORT KEYS SECONDS [THREADS=2] [PIPELINE=16] [S=0.99] [PREFIX=key:]
// Prints one line: "ops=<n> seconds=<s> ops_per_sec=<r> errors=<e>".
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

std::vector<double> zipfCdf(size_t n, double s) {
  std::vector<double> cdf(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) cdf[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), s));
  for (double& c : cdf) c /= sum;
  return cdf;
}

struct Totals {
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> errors{0};
};

void run(int port, const std::vector<double>& cdf, const std::string& prefix, int pipeline,
         std::chrono::steady_clock::time_point end, unsigned seed, Totals& totals) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err != 0) {
    std::fprintf(stderr, "zipf_load: cannot connect to 127.0.0.1:%d\n", port);
    std::exit(1);
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  uint64_t ops = 0;
  uint64_t errors = 0;
  std::string key;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < pipeline; ++i) {
      const size_t rank = static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), uniform(rng)) - cdf.begin());
      key = prefix + std::to_string(std::min(rank, cdf.size() - 1));
      redisAppendCommand(c, "GET %b", key.data(), key.size());
    }
    for (int i = 0; i < pipeline; ++i) {
      void* reply = nullptr;
      if (redisGetReply(c, &reply) != REDIS_OK) {
        std::fprintf(stderr, "zipf_load: connection failed: %s\n", c->errstr);
        std::exit(1);
      }
      if (static_cast<redisReply*>(reply)->type == REDIS_REPLY_ERROR) ++errors;
      freeReplyObject(reply);
    }
    ops += static_cast<uint64_t>(pipeline);
  }
  totals.ops += ops;
  totals.errors += errors;
  redisFree(c);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: zipf_load PORT KEYS SECONDS [THREADS] [PIPELINE] [S] [PREFIX]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const size_t keys = std::strtoull(argv[2], nullptr, 10);
  const double seconds = std::atof(argv[3]);
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  const int pipeline = argc > 5 ? std::atoi(argv[5]) : 16;
  const double s = argc > 6 ? std::atof(argv[6]) : 0.99;
  const std::string prefix = argc > 7 ? argv[7] : "key:";
  if (port <= 0 || keys == 0 || seconds <= 0 || threads <= 0 || pipeline <= 0) return 2;
  const std::vector<double> cdf = zipfCdf(keys, s);
  Totals totals;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back(run, port, std::cref(cdf), std::cref(prefix), pipeline, end, 1234u + t, std::ref(totals));
  }
  for (auto& t : pool) t.join();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("ops=%llu seconds=%.2f ops_per_sec=%.0f errors=%llu\n", static_cast<unsigned long long>(totals.ops.load()),
              took, static_cast<double>(totals.ops.load()) / took, static_cast<unsigned long long>(totals.errors.load()));
  return 0;
}
