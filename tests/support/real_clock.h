// RealClock: the system clock for tests that talk to real servers over real
// sockets, where waiting is real too (HTTP timeouts, subprocesses).
// Tests of timing logic use FakeClock instead.
#pragma once

#include "common/clock.h"

namespace crmsync::testing_support {

inline const Clock& RealClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace crmsync::testing_support
