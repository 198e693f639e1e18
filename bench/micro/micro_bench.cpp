// Micro-benchmarks (Google Benchmark). Run a release build:
//   cmake --preset release && cmake --build --preset release --target parley_micro_bench
//   build/release/parley_micro_bench
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <random>

#include "core/metrics.hpp"
#include "net/ws_frame.hpp"
#include "realtime/gateway.hpp"
#include "realtime/hub.hpp"
#include "store/database.hpp"

namespace {

using namespace parley;

std::string chat_json(std::size_t body) {
  return R"({"id":"17","op":"send","conv":"382758817328267264","client_id":"c-42","body":")" +
         std::string(body, 'x') + R"("})";
}

void BM_FrameParse(benchmark::State& state) {
  std::string frames;
  for (int i = 0; i < 100; ++i) {
    frames += ws::make_masked_frame(ws::Opcode::text, chat_json(state.range(0)), 0x12345678);
  }
  const auto* data = reinterpret_cast<const std::uint8_t*>(frames.data());
  for (auto _ : state) {
    ws::FrameParser parser(1 << 20);
    std::size_t off = 0, messages = 0;
    while (off < frames.size()) {
      std::size_t used = 0;
      auto e = parser.next(data + off, frames.size() - off, used);
      off += used;
      if (e.kind == ws::FrameEvent::message) ++messages;
    }
    benchmark::DoNotOptimize(messages);
  }
  state.SetItemsProcessed(state.iterations() * 100);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frames.size()));
}
BENCHMARK(BM_FrameParse)->Arg(64)->Arg(1024)->Arg(16384);

void BM_FrameBuild(benchmark::State& state) {
  std::string payload = chat_json(state.range(0));
  for (auto _ : state) {
    auto frame = ws::make_frame(ws::Opcode::text, payload);
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameBuild)->Arg(64)->Arg(1024);

void BM_Utf8Validate(benchmark::State& state) {
  std::string text;
  std::mt19937 rng(1);
  const char* pieces[] = {"hello ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "world "};
  while (text.size() < static_cast<std::size_t>(state.range(0))) text += pieces[rng() % 5];
  for (auto _ : state) {
    ws::Utf8Validator v;
    benchmark::DoNotOptimize(v.feed(text) && v.complete());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_Utf8Validate)->Arg(64)->Arg(4096)->Arg(65536);

// The common case: protocol JSON and mostly-ASCII chat text.
void BM_Utf8ValidateAscii(benchmark::State& state) {
  std::string text;
  while (text.size() < static_cast<std::size_t>(state.range(0))) {
    text += R"({"id":"42","op":"send","conv":"382758817328267264","body":"see you at 10"})";
  }
  for (auto _ : state) {
    ws::Utf8Validator v;
    benchmark::DoNotOptimize(v.feed(text) && v.complete());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_Utf8ValidateAscii)->Arg(64)->Arg(4096);

void BM_EventEncode(benchmark::State& state) {
  store::Message m;
  m.id = 382758817349238784;
  m.conversation_id = 382758817328267264;
  m.seq = 12345;
  m.sender_id = 382758816988528640;
  m.client_id = "c-42";
  m.body = std::string(state.range(0), 'x');
  m.created_at = 1795324013371;
  for (auto _ : state) {
    auto frame = realtime::text_frame(realtime::message_event(m, true));
    benchmark::DoNotOptimize(frame.get());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventEncode)->Arg(64)->Arg(1024);

void BM_RequestDecode(benchmark::State& state) {
  std::string text = chat_json(state.range(0));
  for (auto _ : state) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    benchmark::DoNotOptimize(v.is_object());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RequestDecode)->Arg(64)->Arg(1024);

// Counts deliveries; stands in for a WebSocket session.
class CountingSubscriber final : public realtime::Subscriber {
 public:
  void deliver(Id, std::int64_t, const realtime::SharedFrame& f, Id) override {
    bytes += f->size();
    ++count;
  }
  void deliver_to_user(const realtime::SharedFrame&) override {}
  Id user() const override { return 1; }
  Id login_family() const override { return 0; }
  void disconnect(std::uint16_t, const char*) override {}
  std::size_t count = 0, bytes = 0;
};

void BM_HubFanout(benchmark::State& state) {
  metrics::Registry registry;
  realtime::Hub hub(registry);
  boost::asio::io_context ioc(1);
  hub.attach({&ioc});
  std::vector<CountingSubscriber> subs(static_cast<std::size_t>(state.range(0)));
  for (auto& s : subs) hub.subscribe(0, 42, &s);
  auto frame = realtime::text_frame(std::string(100, 'x'));
  for (auto _ : state) {
    hub.publish(42, 1, frame);
    ioc.poll();
    ioc.restart();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));  // deliveries
  state.counters["deliveries/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HubFanout)->Arg(100)->Arg(10000);

void BM_StoreAppendBatch(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / "parley-bench-store";
  std::filesystem::remove_all(dir);
  metrics::Registry registry;
  store::DatabaseOptions o;
  o.sqlite_path = (dir / "bench.db").string();
  o.max_queue = 1000000;
  store::Database db(o, registry);
  db.migrate();
  db.start();
  db.write([](store::Store& s) {
    store::User u;
    u.id = 1;
    u.username = "bench";
    u.display_name = "bench";
    u.role = "user";
    u.password_hash = "x";
    s.insert_user(u);
    store::Conversation c;
    c.id = 2;
    c.kind = "group";
    c.title = "bench";
    c.created_by = 1;
    s.insert_conversation(c);
  });
  const int batch = static_cast<int>(state.range(0));
  Id next = 1000;
  for (auto _ : state) {
    std::atomic<int> done{0};
    for (int i = 0; i < batch; ++i) {
      Id id = next++;
      db.submit(
          [id](store::Store& s) {
            store::Message m;
            m.id = id;
            m.conversation_id = 2;
            m.sender_id = 1;
            m.client_id = std::to_string(id);
            m.body = std::string(64, 'x');
            m.seq = s.next_seq(2, 1);
            s.insert_message(m);
          },
          [&done](std::exception_ptr) { ++done; });
    }
    while (done.load() < batch) std::this_thread::yield();
  }
  state.SetItemsProcessed(state.iterations() * batch);  // messages stored (fsync'd)
  db.stop();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreAppendBatch)->Arg(1)->Arg(100)->Arg(1000)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
