#include "common/guid.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace crmsync {
namespace {

TEST(GuidTest, IsAVersion4GuidInDataversesForm) {
  const std::regex form("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (int i = 0; i < 200; ++i) {
    const std::string g = NewGuid();
    EXPECT_TRUE(std::regex_match(g, form)) << g;
  }
}

// More than one pool of random bytes (64 GUIDs each): no GUID twice.
TEST(GuidTest, TenThousandAreAllDifferent) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(NewGuid()).second);
}

// The pool of random bytes is per process: a forked child (a crash handler,
// a subprocess before exec) that draws a GUID must not draw the parent's next one.
TEST(GuidTest, AForkedChildDoesNotRepeatItsParentsNextGuid) {
  (void)NewGuid();  // the pool is full now
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe(fds.data()), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string g = NewGuid();
    const auto written = ::write(fds[1], g.data(), g.size());
    ::_exit(written == static_cast<ssize_t>(g.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  const std::string mine = NewGuid();
  std::string theirs(36, '\0');
  std::size_t got = 0;
  while (got < theirs.size()) {
    const auto n = ::read(fds[0], theirs.data() + got, theirs.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, theirs.size());
  EXPECT_NE(mine, theirs);
}

TEST(GuidTest, ATimeOrderedGuidIsVersion7AndCarriesTheTime) {
  const std::regex form("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const auto before = now_ms();
  const std::string g = NewTimeOrderedGuid();
  const auto after = now_ms();
  ASSERT_TRUE(std::regex_match(g, form)) << g;
  const long long stamped = std::stoll(g.substr(0, 8) + g.substr(9, 4), nullptr, 16);
  EXPECT_GE(stamped, before);
  EXPECT_LE(stamped, after);
}

// The point of them: made one after another, they sort one after another as
// text (so the state store's indexes take them at their end), at least
// across milliseconds, and never repeat.
TEST(GuidTest, TimeOrderedGuidsMadeInDifferentMillisecondsSortInThatOrder) {
  std::vector<std::string> made;
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    made.push_back(NewTimeOrderedGuid());
    EXPECT_TRUE(seen.insert(made.back()).second);
  }
  int out_of_order = 0;
  for (std::size_t i = 1; i < made.size(); ++i) {
    if (made[i].substr(0, 13) < made[i - 1].substr(0, 13)) ++out_of_order;  // the time part went back
  }
  EXPECT_EQ(out_of_order, 0);
  EXPECT_GT(made.back().substr(0, 13), made.front().substr(0, 13)) << "20,000 GUIDs took under a millisecond";
}

}  // namespace
}  // namespace crmsync
