// Writing the containers auth file (the format podman, skopeo and docker read), for
// `husk login` and `husk logout`:
//
//   { "auths": { "127.0.0.1:5000": { "auth": "<base64 of user:password>" } }, ... }
//
// The file is rewritten whole with write_file_atomic, mode 0600 (its directory made 0700 when
// missing); every other entry and top-level member is kept as it was. A file that is not a JSON
// object, or whose `auths` is not an object, is an error naming the file and is left alone.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "image/registry.h"

namespace husk::image {

// The auths key for what the user typed: "https://h:5000/" -> "h:5000", "index.docker.io" ->
// "docker.io", "h/ns" stays "h/ns" (an entry for a repository prefix). Refuses an empty or
// malformed registry name.
Result<std::string> auth_key(std::string_view registry);

// Sets auths[key].auth (other members of that entry are kept).
Result<void> store_credentials(const std::string& path, const std::string& key,
                               const Credentials& creds);
// Removes auths[key] (and any entry that normalises to it); false when there was none.
Result<bool> remove_credentials(const std::string& path, const std::string& key);

}  // namespace husk::image
