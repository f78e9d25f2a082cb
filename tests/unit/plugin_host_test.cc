// PluginHost with a real loop: what a plugin armed during a failed init is
// unwound with it (the test plugin's callbacks abort the process).
#include "plugin_host.h"

#include <gtest/gtest.h>

#include <string>

#include "loop.h"

namespace {

TEST(PluginHost, FailedInitLeavesNoTimerOrWatchArmed) {
  gyre::Loop loop;
  gyre::NoEngineEvents events;
  gyre::PluginHost host(loop, events);
  std::string error;
  gyre::PluginLoad spec;
  spec.name = "init-fails-armed";
  spec.path = GYRE_INIT_FAILS_ARMED_PATH;
  gyre::Plugin *p = host.load(spec, error);
  ASSERT_EQ(p, nullptr);
  EXPECT_NE(error.find("init-fails-armed"), std::string::npos) << error;
  EXPECT_NE(error.find("initialize"), std::string::npos) << error;
  // 50 ms of loop: the plugin's 1 ms timer and its readable pipe would have
  // fired (and aborted) many times over had they survived.
  gyre::Timer stop(loop, [&] { loop.stop(); });
  stop.start_ms(50);
  loop.run();
}

}  // namespace
