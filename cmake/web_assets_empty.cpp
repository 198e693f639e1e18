// Built with PARLEY_WEB=OFF: no web app is embedded (web.dir can still serve one).
#include "http/web_assets.hpp"

namespace parley::web {

std::span<const Asset> embedded_assets() { return {}; }
std::size_t embedded_initial_load_bytes() { return 0; }

}  // namespace parley::web
