// The message events the store writer encodes directly, against the REST
// message JSON they must equal.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "http/views.hpp"
#include "realtime/gateway.hpp"

namespace bj = boost::json;
using namespace parley;

namespace {

std::string through_the_dom(const store::Message& m, const char* type) {
  return bj::serialize(bj::object{{"type", type},
                                  {"conv", std::to_string(m.conversation_id)},
                                  {"seq", m.seq},
                                  {"message", http::message_json(m)}});
}

TEST(RealtimeGateway, MessageEventIsTheRestMessageJson) {
  store::Message m;
  m.id = 7428197001932800001;
  m.conversation_id = 7428197001932800002;
  m.seq = 123456789012;
  m.sender_id = 1;
  m.client_id = "c-\"1\"\\";
  m.created_at = 1764720000123;
  for (std::string body : {std::string("hi"), std::string(""), std::string("{\"a\":[1]}\\n"),
                           std::string("tab\tnl\nnul\x01\x1f del\x7f"),
                           std::string("\u4e2d\u6587 \U0001F600 </script>")}) {
    m.body = body;
    m.edited_at = 0;
    m.deleted_at = 0;
    EXPECT_EQ(realtime::message_event(m, true), through_the_dom(m, "message.new"));
    m.edited_at = 1764720000999;
    EXPECT_EQ(realtime::message_event(m, false), through_the_dom(m, "message.updated"));
    m.deleted_at = 1764720001000;
    EXPECT_EQ(realtime::message_event(m, false), through_the_dom(m, "message.deleted"));
  }
}

}  // namespace
