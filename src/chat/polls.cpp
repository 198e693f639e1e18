// ChatService's polls: the poll a message carries, votes, options added
// later, closing. Every rule is checked in the transaction that writes.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "app/config.hpp"
#include "chat/chat_service.hpp"
#include "chat/event_sink.hpp"
#include "chat/rules.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/validate.hpp"
#include "store/database.hpp"

namespace parley::chat {

namespace bj = boost::json;

namespace {

// Voters listed per option of a poll that is not anonymous.
constexpr int kVotersShown = 10;
// A closing time at most this far ahead.
constexpr std::int64_t kMaxPollMs = 366LL * 24 * 3600 * 1000;

void check_option(const Config& cfg, std::string_view text) {
  if (text.empty() || text.size() > static_cast<std::size_t>(cfg.limits.max_poll_option_bytes)) {
    fail(Errc::bad_request, "a poll option must be 1 to " +
                                std::to_string(cfg.limits.max_poll_option_bytes) + " bytes");
  }
  validate::single_line_text("option", text);
}

bool closed(const store::Poll& p, std::int64_t now) {
  return p.closed_at != 0 || (p.closes_at != 0 && p.closes_at <= now);
}

}  // namespace

std::string make_poll_spec(const Config& cfg, std::string_view question, const PollInput& in,
                           std::int64_t now) {
  auto n = static_cast<std::int64_t>(in.options.size());
  if (n < 2 || n > cfg.limits.max_poll_options) {
    fail(Errc::bad_request,
         "a poll has 2 to " + std::to_string(cfg.limits.max_poll_options) + " options");
  }
  std::set<std::string> seen;
  bj::array options;
  for (std::size_t i = 0; i < in.options.size(); ++i) {
    check_option(cfg, in.options[i]);
    if (!seen.insert(in.options[i]).second) {
      fail(Errc::bad_request, "poll option '" + in.options[i] + "' is given twice");
    }
    options.push_back(
        bj::object{{"id", static_cast<std::int64_t>(i + 1)}, {"text", in.options[i]}});
  }
  if (in.max_votes < 1 || in.max_votes > n) {
    fail(Errc::bad_request, "'max_votes' must be between 1 and the number of options");
  }
  if (in.closes_at != 0 && (in.closes_at <= now || in.closes_at > now + kMaxPollMs)) {
    fail(Errc::bad_request, "'closes_at' must be in the future, within a year");
  }
  bj::object o{{"question", question},
               {"options", std::move(options)},
               {"max_votes", in.max_votes},
               {"anonymous", in.anonymous},
               {"open_options", in.open_options}};
  o["closes_at"] = in.closes_at ? bj::value(in.closes_at) : bj::value(nullptr);
  return bj::serialize(o);
}

store::Poll poll_from_spec(const store::Message& m) {
  auto o = bj::parse(m.poll).as_object();
  store::Poll p;
  p.conversation_id = m.conversation_id;
  p.seq = m.seq;
  p.question = m.body;
  p.max_votes = o.at("max_votes").as_int64();
  p.anonymous = o.at("anonymous").as_bool();
  p.open_options = o.at("open_options").as_bool();
  p.closes_at = o.at("closes_at").is_int64() ? o.at("closes_at").as_int64() : 0;
  p.created_by = m.sender_id;
  for (const auto& v : o.at("options").as_array()) {
    const auto& opt = v.as_object();
    store::PollOption po;
    po.id = opt.at("id").as_int64();
    po.text = std::string(opt.at("text").as_string());
    po.added_by = m.sender_id;
    p.options.push_back(std::move(po));
  }
  return p;
}

namespace {

store::Poll require_poll(store::Store& s, Id actor, Id conversation_id, std::int64_t seq) {
  auto p = s.poll(conversation_id, seq, actor, kVotersShown);
  if (!p) fail(Errc::not_found, "no poll on this message");
  return *p;
}

}  // namespace

store::Poll ChatService::poll(Id actor, Id conversation_id, std::int64_t seq) {
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    return require_poll(s, actor, conversation_id, seq);
  });
}

store::Poll ChatService::vote(Id actor, Id conversation_id, std::int64_t seq,
                              std::vector<std::int64_t> option_ids) {
  std::sort(option_ids.begin(), option_ids.end());
  if (std::adjacent_find(option_ids.begin(), option_ids.end()) != option_ids.end()) {
    polls_refused_.inc();
    fail(Errc::bad_request, "an option is given twice");
  }
  std::int64_t now = now_ms();
  auto refuse = [this](Errc code, const std::string& why) {
    polls_refused_.inc();
    fail(code, why);
  };
  return db_.write(
      [&](store::Store& s) {
        require_member(s, actor, conversation_id);
        auto p = require_poll(s, actor, conversation_id, seq);
        if (closed(p, now)) refuse(Errc::conflict, "the poll is closed");
        for (auto id : option_ids) {
          bool known = std::any_of(p.options.begin(), p.options.end(),
                                   [&](const store::PollOption& o) { return o.id == id; });
          if (!known) refuse(Errc::bad_request, "option " + std::to_string(id) + " does not exist");
        }
        if (static_cast<std::int64_t>(option_ids.size()) > p.max_votes) {
          refuse(Errc::bad_request, "at most " + std::to_string(p.max_votes) +
                                        (p.max_votes == 1 ? " vote" : " votes") + " on this poll");
        }
        s.set_poll_votes(conversation_id, seq, actor, option_ids, now);
        return require_poll(s, actor, conversation_id, seq);
      },
      [this](const store::Poll& p) {
        poll_votes_.inc();
        if (sink_) sink_->poll_changed(p);
      });
}

store::Poll ChatService::add_poll_option(Id actor, Id conversation_id, std::int64_t seq,
                                         std::string_view text) {
  check_option(cfg_, text);
  std::int64_t now = now_ms();
  return db_.write(
      [&](store::Store& s) {
        require_member(s, actor, conversation_id);
        auto p = require_poll(s, actor, conversation_id, seq);
        if (!p.open_options && p.created_by != actor) {
          fail(Errc::forbidden, "only the poll's creator adds options to this poll");
        }
        if (closed(p, now)) fail(Errc::conflict, "the poll is closed");
        if (static_cast<std::int64_t>(p.options.size()) >= cfg_.limits.max_poll_options) {
          fail(Errc::conflict,
               "the poll has " + std::to_string(cfg_.limits.max_poll_options) + " options already");
        }
        for (const auto& o : p.options) {
          if (o.text == text) fail(Errc::conflict, "the poll has that option already");
        }
        s.add_poll_option(conversation_id, seq, text, actor);
        return require_poll(s, actor, conversation_id, seq);
      },
      [this](const store::Poll& p) {
        if (sink_) sink_->poll_changed(p);
      });
}

store::Poll ChatService::close_poll(Id actor, Id conversation_id, std::int64_t seq) {
  std::int64_t now = now_ms();
  return db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        auto p = require_poll(s, actor, conversation_id, seq);
        if (p.created_by != actor && !is_manager(me)) {
          fail(Errc::forbidden, "only the poll's creator or a conversation admin closes it");
        }
        if (p.closed_at == 0) s.close_poll(conversation_id, seq, now);
        return require_poll(s, actor, conversation_id, seq);
      },
      [this](const store::Poll& p) {
        if (sink_) sink_->poll_changed(p);
      });
}

}  // namespace parley::chat
