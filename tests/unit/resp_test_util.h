// Shared helpers for the resp_* unit tests: RESP encoders written independently of
// resp_writer (so the parser is not checked against its own codec) and a feeder that
// replays a byte stream to RequestParser in arbitrary chunks, like a socket would.
// Called by: tests/unit/resp_*_test.cpp only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp/request_parser.h"

namespace resp_test {

using Command = std::vector<std::string>;

// A string literal that may hold NULs, without counting its bytes by hand.
template <size_t N>
std::string bin(const char (&s)[N]) {
  return std::string(s, N - 1);
}

inline std::string bulk(std::string_view s) {
  std::string out = "$";
  out += std::to_string(s.size());
  out += "\r\n";
  out += s;
  out += "\r\n";
  return out;
}

inline std::string mbulk(const Command& args) {
  std::string out = "*";
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) out += bulk(a);
  return out;
}

// A byte stream and the requests a correct parser must find in it, in order.
struct Pipeline {
  std::string wire;
  std::vector<Command> cmds;
  std::vector<size_t> lens;      // wire bytes of each request
  std::vector<bool> inlineCmds;  // whether each request is inline

  void add(const std::string& bytes, Command cmd, bool isInline = false) {
    wire += bytes;
    cmds.push_back(std::move(cmd));
    lens.push_back(bytes.size());
    inlineCmds.push_back(isInline);
  }
  void addMbulk(const Command& cmd) { add(mbulk(cmd), cmd); }
};

inline std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 32 && c < 127) {
      out += c;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[(c >> 4) & 15];
      out += hex[c & 15];
    }
    if (out.size() > 200) return out + "...";
  }
  return out;
}

// Checks what one parse() call returned against request `idx`, with `avail` bytes buffered.
inline std::string checkResult(const resp::RequestParser& parser, resp::ParseResult r,
                               const Pipeline& p, size_t idx, size_t avail) {
  // Built only on a mismatch: this runs millions of times in the split-point tests.
  auto where = [&] {
    return std::string("request ") + std::to_string(idx) + " with " + std::to_string(avail) +
           " bytes buffered: ";
  };
  if (r.status == resp::ParseStatus::Error) return where() + "error " + parser.errorText();
  if (r.status == resp::ParseStatus::Incomplete) {
    if (r.consumed != 0) return where() + "Incomplete with consumed != 0";
    if (avail >= p.lens[idx]) return where() + "Incomplete although the request is buffered";
    return {};
  }
  if (r.consumed != p.lens[idx]) {
    return where() + "consumed " + std::to_string(r.consumed) + ", want " +
           std::to_string(p.lens[idx]);
  }
  if (parser.isInline() != p.inlineCmds[idx]) return where() + "isInline mismatch";
  const Command& want = p.cmds[idx];
  if (parser.argc() != want.size()) {
    return where() + "argc " + std::to_string(parser.argc()) + ", want " +
           std::to_string(want.size());
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (parser.arg(i) != want[i]) {
      return where() + "arg " + std::to_string(i) + " is '" + printable(parser.arg(i)) +
             "', want '" + printable(want[i]) + "'";
    }
  }
  return {};
}

// Delivers p.wire so that `cuts[k]` bytes have arrived before the k-th round (ascending,
// last == wire size), parsing everything available after each delivery as a session does.
// With copyBuffer, the unconsumed bytes move to a fresh allocation before every call, as
// when a session's buffer grows. Returns "" or the first mismatch.
inline std::string feed(const Pipeline& p, const std::vector<size_t>& cuts, bool copyBuffer,
                        resp::Limits limits = {}) {
  resp::RequestParser parser(limits);
  const std::string_view wire = p.wire;
  size_t start = 0;
  size_t idx = 0;
  for (size_t received : cuts) {
    while (start < received) {
      if (idx >= p.cmds.size()) return "bytes left after the last request";
      std::string copy;
      std::string_view view = wire.substr(start, received - start);
      if (copyBuffer) {
        copy.assign(view);
        view = copy;
      }
      const resp::ParseResult r = parser.parse(view);
      std::string err = checkResult(parser, r, p, idx, view.size());
      if (!err.empty()) return err;
      if (r.status != resp::ParseStatus::Complete) break;
      start += r.consumed;
      ++idx;
    }
  }
  if (idx != p.cmds.size())
    return std::string("only ") + std::to_string(idx) + " requests completed";
  return {};
}

inline std::string feedSplitAt(const Pipeline& p, size_t k, bool copyBuffer) {
  return feed(p, {k, p.wire.size()}, copyBuffer);
}

inline std::string feedByteByByte(const Pipeline& p, bool copyBuffer) {
  std::vector<size_t> cuts(p.wire.size());
  for (size_t i = 0; i < cuts.size(); ++i) cuts[i] = i + 1;
  return feed(p, cuts, copyBuffer);
}

// Parses `input` in one call with a fresh parser.
struct OneShot {
  resp::RequestParser parser;
  resp::ParseResult result;
  explicit OneShot(std::string_view input, resp::Limits limits = {}, bool authenticated = true)
      : parser(limits), result{resp::ParseStatus::Incomplete, 0} {
    parser.setAuthenticated(authenticated);
    result = parser.parse(input);
  }
};

}  // namespace resp_test
