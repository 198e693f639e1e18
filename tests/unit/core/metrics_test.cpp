#include "core/metrics.hpp"

#include <gtest/gtest.h>

namespace parley::metrics {
namespace {

TEST(Metrics, RendersCountersGaugesAndHistogramsInPrometheusFormat) {
  Registry r;
  r.counter("req_total", "Requests", {{"route", "/a"}, {"status", "200"}}).inc(3);
  r.gauge("queue", "Queue depth").set(5);
  auto& h = r.histogram("lat_seconds", "Latency", {}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  std::string text = r.render();
  EXPECT_NE(text.find("# TYPE req_total counter"), std::string::npos);
  EXPECT_NE(text.find("req_total{route=\"/a\",status=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("queue 5\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.10000000000000001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count 3\n"), std::string::npos);
}

TEST(Metrics, SameNameAndLabelsIsTheSameSeries) {
  Registry r;
  r.counter("x_total", "x", {{"a", "1"}}).inc();
  r.counter("x_total", "x", {{"a", "1"}}).inc();
  EXPECT_EQ(r.counter("x_total", "x", {{"a", "1"}}).value(), 2U);
}

TEST(Metrics, EscapesLabelValues) {
  EXPECT_EQ(render_labels({{"p", "a\"b\\c\nd"}}), "{p=\"a\\\"b\\\\c\\nd\"}");
}

TEST(Metrics, RefusesOneNameWithTwoTypes) {
  Registry r;
  r.counter("dup", "d");
  EXPECT_THROW(r.gauge("dup", "d"), std::logic_error);
}

TEST(Metrics, CollectorsRunAtScrape) {
  Registry r;
  int calls = 0;
  r.on_collect([&] { r.gauge("sampled", "s").set(++calls); });
  EXPECT_NE(r.render().find("sampled 1\n"), std::string::npos);
  EXPECT_NE(r.render().find("sampled 2\n"), std::string::npos);
}

}  // namespace
}  // namespace parley::metrics
