// Converting one twemproxy (nutcracker) pool into a ringproxy YAML config, so a nutcracker
// user can switch with every key staying where nutcracker put it (ketama, same hash, same
// server names). Options ringproxy cannot honour are reported as warnings, never dropped
// in silence; options that would change where keys live are errors.
// Called by: main (--from-twemproxy) and tests/unit/config_twemproxy_test.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace config {

struct ImportResult {
  std::string yaml;                   // ringproxy config text; empty when errors is non-empty
  std::vector<std::string> warnings;  // "pool 'alpha': auto_eject_hosts: ..." one per option
  std::vector<std::string> errors;    // why no config could be produced
  bool ok() const { return errors.empty(); }
};

// `pool` empty: the only pool, or the first one (with a warning naming the others).
// The YAML returned always loads with loadConfigText() without errors: it is checked
// before being returned, and any complaint of the loader becomes an error here.
// May throw only std::bad_alloc.
ImportResult importTwemproxy(std::string_view nutcrackerYaml, std::string_view pool);

}  // namespace config
