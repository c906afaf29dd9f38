// Authenticator: checks client credentials against the config's auth section, the way
// Redis does: requirepass is the default user's password (AUTH <pass> or
// AUTH default <pass>), users are ACL-style (AUTH <user> <pass>).
// Built once per config snapshot; consulted by ClientSession for AUTH and HELLO ... AUTH.
#pragma once

#include <string_view>

#include "config/proxy_config.h"

namespace proxy {

inline constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kAuthNotConfigured =
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?";
inline constexpr std::string_view kHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
    "RESP protocol version at the same time";

class Authenticator {
 public:
  explicit Authenticator(const config::AuthConfig& cfg) : cfg_(cfg) {}
  bool required() const { return cfg_.required(); }
  // `user` empty or "default" means the default user (requirepass).
  bool check(std::string_view user, std::string_view password) const;

 private:
  config::AuthConfig cfg_;
};

}  // namespace proxy
