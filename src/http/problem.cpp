#include "http/problem.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace parley::http {

Response problem(Errc code, std::string_view detail, std::string_view instance,
                 std::string_view request_id) {
  boost::json::object o;
  o["type"] = "urn:parley:problem:" + std::string(slug(code));
  o["title"] = title(code);
  o["status"] = http_status(code);
  o["detail"] = detail;
  if (!instance.empty()) o["instance"] = instance;
  if (!request_id.empty()) o["request_id"] = request_id;
  Response r = Response::json(http_status(code), boost::json::serialize(o));
  r.set("Content-Type", "application/problem+json");
  return r;
}

}  // namespace parley::http
