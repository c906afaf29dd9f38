// Credential checks for client AUTH.
#include "proxy/server/auth.h"

namespace proxy {

namespace {
// Compares in time that depends only on the lengths, so response timing does not reveal
// how much of a password matched.
bool sameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}
}  // namespace

bool Authenticator::check(std::string_view user, std::string_view password) const {
  if (user.empty() || user == "default") {
    return !cfg_.requirepass.empty() && sameSecret(password, cfg_.requirepass);
  }
  bool ok = false;
  for (const config::AuthUser& u : cfg_.users) {
    if (u.name == user) ok = sameSecret(password, u.password) || ok;
  }
  return ok;
}

}  // namespace proxy
