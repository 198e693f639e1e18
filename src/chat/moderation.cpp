// ChatService's moderation: mutes, bans, slow mode, reports. Each action is
// checked and written, with its audit event, in one transaction.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "app/config.hpp"
#include "chat/chat_service.hpp"
#include "chat/event_sink.hpp"
#include "chat/rules.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/validate.hpp"
#include "store/database.hpp"

namespace parley::chat {

namespace bj = boost::json;

namespace {

constexpr std::int64_t kMaxMuteS = 366LL * 24 * 3600;
constexpr std::int64_t kMaxSlowModeS = 6 * 3600;
constexpr std::size_t kMaxReasonBytes = 1000;

// The actor may act on target: owners on anyone but themselves, admins on members.
void check_power(const store::Member& me, const store::Member& target) {
  if (!is_manager(me)) fail(Errc::forbidden, "only owners and admins moderate");
  if (target.user_id == me.user_id) fail(Errc::bad_request, "not on yourself");
  if (target.role == "owner" || (target.role == "admin" && me.role != "owner")) {
    fail(Errc::forbidden, "an admin moderates members only; nobody moderates the owner");
  }
}

void check_reason(std::string_view reason) {
  if (reason.size() > kMaxReasonBytes) {
    fail(Errc::bad_request,
         "'reason' is longer than " + std::to_string(kMaxReasonBytes) + " bytes");
  }
  validate::single_line_text("reason", reason);
}

}  // namespace

store::Member ChatService::mute(Id actor, Id conversation_id, Id user_id, std::int64_t seconds,
                                std::string_view ip) {
  if (seconds < 0 || seconds > kMaxMuteS) {
    fail(Errc::bad_request, "'seconds' must be 0 (unmute) to " + std::to_string(kMaxMuteS));
  }
  std::int64_t now = now_ms();
  auto m = db_.write([&](store::Store& s) {
    auto me = require_member(s, actor, conversation_id);
    auto target = s.member(conversation_id, user_id);
    if (!target) fail(Errc::not_found, "not a member");
    check_power(me, *target);
    target->muted_until = seconds ? now + seconds * 1000 : 0;
    s.set_muted_until(conversation_id, user_id, target->muted_until);
    s.insert_audit_event(
        {ids_.next(), now, actor, seconds ? "moderation.muted" : "moderation.unmuted", user_id,
         std::string(ip),
         bj::serialize(bj::object{{"conversation_id", id_to_string(conversation_id)},
                                  {"seconds", seconds}})});
    return *target;
  });
  moderation_actions_.inc();
  return m;
}

void ChatService::ban(Id actor, Id conversation_id, Id user_id, std::string_view reason,
                      std::string_view ip) {
  check_reason(reason);
  std::int64_t now = now_ms();
  db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        if (s.conversation(conversation_id)->kind == "direct") {
          fail(Errc::bad_request, "nobody is banned from a direct conversation");
        }
        if (!s.user_by_id(user_id)) fail(Errc::not_found, "no such user");
        bool was_member = false;
        if (auto target = s.member(conversation_id, user_id)) {
          check_power(me, *target);
          s.delete_member(conversation_id, user_id);
          was_member = true;
        } else if (!is_manager(me)) {
          fail(Errc::forbidden, "only owners and admins moderate");
        } else if (user_id == actor) {
          fail(Errc::bad_request, "not on yourself");
        }
        s.insert_ban({conversation_id, user_id, actor, now, std::string(reason)});
        s.insert_audit_event(
            {ids_.next(), now, actor, "moderation.banned", user_id, std::string(ip),
             bj::serialize(bj::object{{"conversation_id", id_to_string(conversation_id)},
                                      {"reason", reason}})});
        return was_member;
      },
      [this, conversation_id, user_id](bool was_member) {
        moderation_actions_.inc();
        if (was_member && sink_) sink_->member_left(conversation_id, user_id);
      });
}

bool ChatService::unban(Id actor, Id conversation_id, Id user_id, std::string_view ip) {
  std::int64_t now = now_ms();
  return db_.write([&](store::Store& s) {
    auto me = require_member(s, actor, conversation_id);
    if (!is_manager(me)) fail(Errc::forbidden, "only owners and admins moderate");
    bool removed = s.delete_ban(conversation_id, user_id);
    if (removed) {
      moderation_actions_.inc();
      s.insert_audit_event(
          {ids_.next(), now, actor, "moderation.unbanned", user_id, std::string(ip),
           bj::serialize(bj::object{{"conversation_id", id_to_string(conversation_id)}})});
    }
    return removed;
  });
}

std::vector<store::Ban> ChatService::bans(Id actor, Id conversation_id, Id after_user, int limit) {
  return db_.read([&](store::Store& s) {
    auto me = require_member(s, actor, conversation_id);
    if (!is_manager(me)) fail(Errc::forbidden, "only owners and admins see the bans");
    return s.bans(conversation_id, after_user, limit);
  });
}

store::Conversation ChatService::set_slow_mode(Id actor, Id conversation_id, std::int64_t seconds,
                                               std::string_view ip) {
  if (seconds < 0 || seconds > kMaxSlowModeS) {
    fail(Errc::bad_request, "'slow_mode_s' must be 0 (off) to " + std::to_string(kMaxSlowModeS));
  }
  std::int64_t now = now_ms();
  return db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        if (!is_manager(me)) fail(Errc::forbidden, "only owners and admins set slow mode");
        s.set_slow_mode(conversation_id, seconds, now);
        s.insert_audit_event(
            {ids_.next(), now, actor, "moderation.slow_mode", 0, std::string(ip),
             bj::serialize(bj::object{{"conversation_id", id_to_string(conversation_id)},
                                      {"seconds", seconds}})});
        return *s.conversation(conversation_id);
      },
      [this](const store::Conversation& c) {
        moderation_actions_.inc();
        if (sink_) sink_->conversation_updated(c);
      });
}

store::Report ChatService::report(Id actor, Id conversation_id, std::int64_t seq,
                                  std::string_view reason, std::string_view ip) {
  if (reason.empty()) fail(Errc::bad_request, "'reason' must say what is wrong");
  check_reason(reason);
  std::int64_t now = now_ms();
  auto r = db_.write([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    auto m = s.message(conversation_id, seq);
    if (!m) fail(Errc::not_found, "message not found");
    store::Report r{ids_.next(), conversation_id, seq, actor, std::string(reason), now, 0, 0, ""};
    if (!s.insert_report(r)) fail(Errc::conflict, "you have reported this message already");
    s.insert_audit_event(
        {ids_.next(), now, actor, "moderation.reported", m->sender_id, std::string(ip),
         bj::serialize(bj::object{{"conversation_id", id_to_string(conversation_id)},
                                  {"seq", seq},
                                  {"report_id", id_to_string(r.id)}})});
    return r;
  });
  reports_filed_.inc();
  return r;
}

std::vector<store::Report> ChatService::reports(Id admin, bool open_only, Id before_id, int limit) {
  return db_.read([&](store::Store& s) {
    auto u = s.user_by_id(admin);
    if (!u || u->role != "admin") fail(Errc::forbidden, "server admins only");
    return s.reports(open_only, before_id, limit);
  });
}

store::Report ChatService::resolve_report(Id admin, Id report_id, std::string_view action,
                                          std::string_view ip) {
  if (action != "dismiss" && action != "delete_message") {
    fail(Errc::bad_request, "'action' must be dismiss or delete_message");
  }
  std::int64_t now = now_ms();
  struct Out {
    store::Report report;
    std::optional<store::Message> deleted;
  };
  auto out = db_.write(
      [&](store::Store& s) {
        auto u = s.user_by_id(admin);
        if (!u || u->role != "admin") fail(Errc::forbidden, "server admins only");
        auto r = s.report(report_id);
        if (!r) fail(Errc::not_found, "no such report");
        if (r->resolved_at) fail(Errc::conflict, "the report is resolved already");
        Out o;
        if (action == "delete_message") {
          auto m = s.message(r->conversation_id, r->seq);
          if (m && !m->deleted_at) {
            s.tombstone_message(r->conversation_id, r->seq, now);
            m->body.clear();
            m->poll.clear();
            m->deleted_at = now;
            o.deleted = *m;
          }
        }
        std::string resolution = action == "dismiss" ? "dismissed" : "message_deleted";
        s.resolve_report(report_id, admin, now, resolution);
        s.insert_audit_event({ids_.next(), now, admin, "moderation.report_resolved", r->reporter_id,
                              std::string(ip),
                              bj::serialize(bj::object{{"report_id", id_to_string(report_id)},
                                                       {"resolution", resolution}})});
        o.report = *s.report(report_id);
        return o;
      },
      [this](const Out& o) {
        moderation_actions_.inc();
        if (o.deleted && sink_) sink_->message_updated(*o.deleted);
      });
  return out.report;
}

}  // namespace parley::chat
